export type { MlflowRegistry, MlflowRegistryOptions, RegisteredModelVersion, RegisterModelVersionInput } from './mlflow.js';
export { mlflowRegistry } from './mlflow.js';
export { IntegrationError } from './rest.js';
