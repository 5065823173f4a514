export { type CommandResult, type KubeCluster, kubectlPath, startKubeCluster } from './cluster.js';
export {
  type FakeNode,
  type FakeNodeOptions,
  fakeImageId,
  type PodBehaviour,
  type RunningContainer,
  type StartedPod,
  startFakeNode,
} from './fake-node.js';
export { type KubeStage, startKubeStage } from './stage.js';
