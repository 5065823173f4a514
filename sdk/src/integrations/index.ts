export type { MlflowRegistry, MlflowRegistryOptions, RegisteredModelVersion, RegisterModelVersionInput } from './mlflow.js';
export { MlflowError, mlflowRegistry } from './mlflow.js';
