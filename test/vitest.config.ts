import { configDefaults } from 'vitest/config';
import { defineSuite } from '../scripts/suite-config.mjs';

/**
 * End-to-end files that run alone: they time leases and outages, kill and freeze processes, or
 * measure a noisy neighbour. On a 2-core machine another file beside them would starve the
 * processes they time.
 */
const ALONE = [
  'e2e/lifecycle.recovery.test.ts',
  'e2e/lifecycle.replicas.test.ts',
  'e2e/security.noisy-neighbour.test.ts',
  'e2e/*exactly-once.test.ts',
  'e2e/worker.fan-out.test.ts',
  'e2e/worker.logs-outage.test.ts',
  'e2e/helm.charts.test.ts',
];

/**
 * The README walk (its two walkers side by side, each a fresh clone's `npm ci`, build and tour) keeps
 * both cores busy for five minutes when alone and times nothing; its commands run at the lowest priority
 * (niceness 19). Beside it, one after the other, go the two files of the alone kind that leave the
 * cores idle most of the time (the API's outage, a fifth of a core; the short chaos run, half): they
 * get the CPU whenever they want it, and the walk takes the rest. The walk is the longest and starts
 * first (scripts/file-times.json), and it outlasts the first file beside it by minutes, so the other
 * two never run beside each other.
 */
const WALK = ['e2e/readme.newcomer.test.ts', 'e2e/lifecycle.api-outage.test.ts', 'e2e/chaos.short.test.ts'];

/**
 * Files that install and start releases: packages from a registry, a previous release, the images
 * and their compose stack. They time nothing tighter than a start-up, and most of their time is npm
 * and podman writing to the disk, so two go side by side.
 */
const INSTALLS = [
  'e2e/install.registry.test.ts',
  'e2e/release.dry-run.test.ts',
  'e2e/upgrade.previous-release.test.ts',
  'e2e/version-skew.test.ts',
  'e2e/images.compose.test.ts',
];

/**
 * Files that work on a Kubernetes control plane. They run one at a time, after the rest, on one plane
 * they share (support/kube/shared-plane.ts): each gets a namespace and clears the plane after itself.
 */
const KUBE = [
  'e2e/kube-harness.test.ts',
  'e2e/kubernetes.*.test.ts',
  'e2e/integrations.kubernetes-pod.test.ts',
  'e2e/helm.worker-*.test.ts',
];

/** Files beside each other: the rest wait on servers, workers and browsers far more than they compute (about 20% of two cores each). */
const SIDE_BY_SIDE = 3;

export default defineSuite({
  testTimeout: 180_000,
  hookTimeout: 180_000,
  // A page, a server and a worker answer in tens of milliseconds alone, but in seconds on a 2-core
  // machine running three files at once: a poll gives them 15 s unless it says otherwise, not 1 s.
  expect: { poll: { timeout: 15_000 } },
  // A vitest worker keeps the modules it has loaded (the API, the SDK, playwright) from one file to
  // the next: importing them took about 3 s a file, a sixth of a light file's time. Files start and
  // stop their own servers, processes and browsers, and change nothing global.
  isolate: false,
  projects: [
    {
      extends: true,
      test: {
        name: 'e2e',
        include: ['e2e/**/*.test.ts'],
        exclude: [...configDefaults.exclude, ...WALK, ...ALONE, ...INSTALLS, ...KUBE],
        maxWorkers: SIDE_BY_SIDE,
        sequence: { groupOrder: 0 },
      },
    },
    {
      extends: true,
      test: {
        name: 'e2e-walk',
        include: WALK,
        maxWorkers: 2,
        sequence: { groupOrder: 1 },
      },
    },
    {
      extends: true,
      test: {
        name: 'e2e-alone',
        include: ALONE,
        fileParallelism: false,
        sequence: { groupOrder: 2 },
      },
    },
    {
      extends: true,
      test: {
        name: 'e2e-install',
        include: INSTALLS,
        maxWorkers: 2,
        sequence: { groupOrder: 3 },
      },
    },
    {
      extends: true,
      test: {
        name: 'e2e-kube',
        include: KUBE,
        fileParallelism: false,
        globalSetup: ['support/kube/shared-plane.ts'],
        sequence: { groupOrder: 4 },
      },
    },
  ],
});
