import { defineSuite } from '../scripts/suite-config.mjs';

export default defineSuite({
  // Tests start real servers and child processes; a loaded 2-core CI machine needs the headroom.
  hookTimeout: 120_000,
  // Three files at once: each mostly waits on the servers and processes it starts (the suite took
  // 195 s so against about 500 s one file at a time, on 2 cores).
  maxWorkers: 3,
  // A vitest worker keeps its loaded modules from one file to the next (315 s against 376 s when
  // each file loaded them afresh). A file puts back what it changes outside its own servers.
  isolate: false,
});
