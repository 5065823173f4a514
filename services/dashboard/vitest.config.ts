import { defineSuite } from '../../scripts/suite-config.mjs';

export default defineSuite(
  {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node',
    // Pure functions and rendered markup: vitest's own time-outs, not the minute the suites that
    // start servers get.
    testTimeout: 5_000,
    hookTimeout: 10_000,
    // One worker keeps the modules it has loaded (React, the pages) from one file to the next: the
    // suite took 10 s so against 49 s when each of its 52 files loaded them afresh. The files are
    // pure functions and rendered markup; the one that fakes timers puts the real ones back.
    isolate: false,
  },
  { oxc: { jsx: { runtime: 'automatic', importSource: 'react' } } },
);
