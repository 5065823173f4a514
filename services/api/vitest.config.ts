import { defineSuite } from '../../scripts/suite-config.mjs';

export default defineSuite({
  hookTimeout: 120_000,
  // Each test file gets a database of its own (cloned from a migrated template), so files run in
  // parallel: three at once, as files wait on Postgres a good part of the time (vitest's default is
  // one fewer than the cores, a single file on a 2-core machine).
  fileParallelism: true,
  maxWorkers: 3,
  // A worker keeps the modules it has loaded from one file to the next. Every file imports most of
  // the API, and loading it afresh for each file was a fifth of the suite's time. What a file
  // changes outside its own database and servers (an environment variable, the global tracer) it
  // puts back in its afterAll.
  isolate: false,
});
