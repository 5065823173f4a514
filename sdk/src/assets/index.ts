export type {
  AnyAsset,
  Asset,
  AssetCheck,
  AssetContext,
  AssetDep,
  AssetOptions,
  CheckContext,
  CheckFunction,
  CheckOptions,
  CheckOutcome,
  DepValue,
  DepValues,
  PartitionRange,
} from './asset.js';
export { asset, assetCodeVersion, check } from './asset.js';
export type { AutomationCondition, FreshnessPolicy } from './automation.js';
export { onCron, onMissing, onUpstreamUpdate } from './automation.js';
export { addDynamicPartitions } from './dynamic.js';
export type { AssetFlowResult, MaterializeOptions, MaterializeResult } from './flow.js';
export { ensureAssetFlow, materialize } from './flow.js';
export { AssetCycleError, findCycle, topologicalOrder } from './graph.js';
export type { FileFormat, FsIOOptions, IOContext, IOManager, MetadataValue, StoreResult } from './io.js';
export { AssetValueMissingError, fsIO, jsonFormat } from './io.js';
export type { RegisteredAsset } from './registry.js';
export { ASSET_REGISTRY_KEY, assetRegistry, DuplicateAssetKeyError } from './registry.js';
export type { AssetRunOutcome } from './run.js';
export { AssetRunError } from './run.js';
export type { S3IOOptions } from './s3.js';
export { s3IO } from './s3.js';
