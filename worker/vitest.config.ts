import { defineSuite } from '../scripts/suite-config.mjs';

export default defineSuite({
  // Two files at once: they spawn real process groups and servers and wait on them more than they
  // compute (the suite took 70–76 s so against 102 s one file at a time, on 2 cores).
  maxWorkers: 2,
  // Each vitest worker keeps its loaded modules from one file to the next (the suite took 158 s
  // against 234 s when each file loaded them afresh). A file puts back what it changes outside its
  // own servers and processes.
  isolate: false,
});
