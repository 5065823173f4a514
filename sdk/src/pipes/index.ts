export type {
  PipesArtifactRecord,
  PipesCheckResult,
  PipesClientError,
  PipesRunOptions,
  PipesRunResult,
} from './host.js';
export { PipesProcessError, pipes } from './host.js';
export type { PipesSession, PipesSessionOptions, PipesSessionResult } from './session.js';
