export {
  DeploymentSignatureError,
  generateDeployKeyPair,
  keyId,
  parseSigningKey,
  parseTrustKey,
  readDeploymentSignature,
  signDeploymentStatement,
  type TrustKey,
  verifyDeploymentSignature,
} from './deploy-keys.js';
export {
  canonicalJson,
  DEPLOYMENT_SIGNATURE_TYP,
  DEPLOYMENT_STATEMENT_TYPE,
  DeploymentStatement,
  deploymentStatement,
  type StatementFields,
  statementMismatch,
} from './deployment-statement.js';
