export { type CommandResult, type KubeCluster, kubectlPath, startKubeCluster } from './cluster.js';
export {
  type FakeNode,
  type FakeNodeOptions,
  fakeImageId,
  type PodBehaviour,
  type RunningContainer,
  startFakeNode,
} from './fake-node.js';
