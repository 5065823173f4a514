export type {
  DatabricksJobs,
  DatabricksOptions,
  DatabricksRunHandle,
  DatabricksRunResult,
  RunNowInput,
  SubmitRunInput,
} from './databricks.js';
export { databricksJobs, databricksStatus } from './databricks.js';
export type { DeferOptions, DeferrableJob } from './defer.js';
export { DEFAULT_DEFER_POLL_SECONDS, defer, deferrable } from './defer.js';
export type { ExternalJob, ExternalJobStatus, RunExternalJobOptions } from './external-job.js';
export { ExternalJobError, runExternalJob } from './external-job.js';
export type { GoogleAuthOptions } from './google-auth.js';
export { googleAccessToken } from './google-auth.js';
export type { KubernetesOptions, KubernetesPods, PodHandle, PodInput, PodResult } from './kubernetes.js';
export { kubernetesPods, podName, podStatus } from './kubernetes.js';
export type { MlflowRegistry, MlflowRegistryOptions, RegisteredModelVersion, RegisterModelVersionInput } from './mlflow.js';
export { mlflowRegistry } from './mlflow.js';
export { IntegrationError } from './rest.js';
export type {
  RegisterModelPackageInput,
  SageMaker,
  SageMakerOptions,
  TrainingJobHandle,
  TrainingJobInput,
  TrainingJobResult,
} from './sagemaker.js';
export { sagemaker, trainingJobName, trainingJobStatus } from './sagemaker.js';
export type { CustomJobHandle, CustomJobInput, CustomJobResult, VertexAI, VertexOptions } from './vertex.js';
export { customJobStatus, vertexAI } from './vertex.js';
export type { WandbRunInput } from './wandb.js';
export { linkWandbRun } from './wandb.js';
