import type { Executor } from '../../src/executors/executor.js';

/** `inner` with the members a test replaces to watch or steer it; every other member is `inner`'s own. */
export function overriding(inner: Executor, overrides: Partial<Executor>): Executor {
  return {
    kind: inner.kind,
    canAdopt: inner.canAdopt,
    open: () => inner.open(),
    start: (run, sink, stopped) => inner.start(run, sink, stopped),
    adopt: (sinkFor) => inner.adopt(sinkFor),
    close: () => inner.close(),
    ...overrides,
  };
}
