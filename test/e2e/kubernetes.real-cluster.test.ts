import { describe } from 'vitest';
import { createKubernetesExecutor } from '../../worker/src/executors/kubernetes/executor.js';
import { describeExecutor } from '../../worker/test/executor-contract.js';

/*
 * The shared executor suite against a real cluster: OUTPOST_TEST_KUBECONFIG names a kubeconfig whose
 * context's namespace the tests may fill with Jobs, and OUTPOST_TEST_RELAY_ADDRESS the address its pods
 * reach this machine at (host or host:port). The pods' image must have Node 20 and `outpost-pod-runner`
 * on PATH (OUTPOST_TEST_IMAGE; see docs/kubernetes.md).
 */
const kubeconfig = process.env.OUTPOST_TEST_KUBECONFIG ?? '';
const relayAddress = process.env.OUTPOST_TEST_RELAY_ADDRESS ?? '';
const image = process.env.OUTPOST_TEST_IMAGE ?? '';
const missing = [
  !kubeconfig && 'OUTPOST_TEST_KUBECONFIG',
  !relayAddress && 'OUTPOST_TEST_RELAY_ADDRESS',
  !image && 'OUTPOST_TEST_IMAGE',
].filter(Boolean);
if (missing.length > 0) {
  console.log(`kubernetes.real-cluster: skipped — set ${missing.join(', ')} to run the executor suite against a real cluster`);
}

describe.skipIf(missing.length > 0)('against a real cluster', () => {
  describeExecutor('kubernetes (real cluster)', (context) =>
    createKubernetesExecutor({
      ...context,
      options: {
        ...context.options,
        type: 'kubernetes',
        kubeconfig,
        namespace: null,
        relayListen: '0.0.0.0:0',
        relayAddress,
        baseJobTemplate: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          spec: {
            backoffLimit: 0,
            ttlSecondsAfterFinished: 300,
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'flow', image }] } },
          },
        },
      },
    }),
  );
});
