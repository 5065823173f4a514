import type * as z from 'zod';
import { assetSchemas } from './assets-schemas.js';

/*
 * The schemas are built in `./assets-schemas.js`, on first use; importing this module builds them all.
 */

export { CHECK_FAILURES_LISTED, LINEAGE_MAX_DEPTH, LINEAGE_MAX_NODES } from './assets-schemas.js';
export { ASSET_FLOW_NAME, ASSET_METADATA_MAX_BYTES } from './limits.js';
export const {
  AssetKey,
  CheckName,
  CheckSeverity,
  AssetCheckDefinition,
  AssetCron,
  AssetAutomationPolicy,
  AssetFreshnessPolicy,
  AssetDefinitionInput,
  StaleReason,
  AssetHealth,
  AssetMaterialization,
  AssetCheckResult,
  AssetCheckWaiver,
  AssetCheckFailure,
  AssetCheckStatus,
  PartitionStatus,
  PartitionCounts,
  AssetFreshnessState,
  Asset,
  AssetListQuery,
  AssetListResponse,
  AssetKeyQuery,
  AssetLineageResponse,
  AssetMaterializationListQuery,
  AssetMaterializationListResponse,
  AssetPartitionsQuery,
  AssetPartition,
  AssetPartitionsResponse,
  AssetCheckResultListQuery,
  AssetCheckResultListResponse,
  PartitionSelection,
  AssetMaterializeRequest,
  AssetMaterializeResponse,
  AssetRunParameters,
  AssetWaiveRequest,
  AssetEvent,
  AssetEventBatchRequest,
  AssetEventBatchResponse,
  AssetGateResponse,
  DynamicPartitionKeysRequest,
  DynamicPartitionsParams,
  DynamicPartitionKeyParams,
  DynamicPartitionKeysResponse,
  AssetAutomationEvaluation,
  AssetEvaluationListQuery,
  AssetEvaluationListResponse,
  AssetMaterializationLineageQuery,
  LineageInputPartition,
  LineageInput,
  LineageWaiver,
  LineageCheck,
  LineageRegistration,
  LineageRun,
  LineageMaterialization,
  AssetMaterializationLineageResponse,
} = assetSchemas();

export type AssetKey = z.infer<typeof AssetKey>;
export type CheckSeverity = z.infer<typeof CheckSeverity>;
export type AssetCheckDefinition = z.infer<typeof AssetCheckDefinition>;
export type AssetCron = z.infer<typeof AssetCron>;
export type AssetAutomationPolicy = z.infer<typeof AssetAutomationPolicy>;
export type AssetFreshnessPolicy = z.infer<typeof AssetFreshnessPolicy>;
export type AssetDefinitionInput = z.input<typeof AssetDefinitionInput>;
export type StaleReason = z.infer<typeof StaleReason>;
export type AssetHealth = z.infer<typeof AssetHealth>;
export type AssetMaterialization = z.infer<typeof AssetMaterialization>;
export type AssetCheckResult = z.infer<typeof AssetCheckResult>;
export type AssetCheckWaiver = z.infer<typeof AssetCheckWaiver>;
export type AssetCheckFailure = z.infer<typeof AssetCheckFailure>;
export type AssetCheckStatus = z.infer<typeof AssetCheckStatus>;
export type PartitionStatus = z.infer<typeof PartitionStatus>;
export type PartitionCounts = z.infer<typeof PartitionCounts>;
export type AssetFreshnessState = z.infer<typeof AssetFreshnessState>;
export type Asset = z.infer<typeof Asset>;
export type AssetListResponse = z.infer<typeof AssetListResponse>;
export type AssetLineageResponse = z.infer<typeof AssetLineageResponse>;
export type AssetMaterializationListResponse = z.infer<typeof AssetMaterializationListResponse>;
export type AssetPartition = z.infer<typeof AssetPartition>;
export type AssetPartitionsResponse = z.infer<typeof AssetPartitionsResponse>;
export type AssetCheckResultListResponse = z.infer<typeof AssetCheckResultListResponse>;
export type PartitionSelection = z.infer<typeof PartitionSelection>;
export type AssetMaterializeRequest = z.input<typeof AssetMaterializeRequest>;
export type AssetMaterializeResponse = z.infer<typeof AssetMaterializeResponse>;
export type AssetRunParameters = z.infer<typeof AssetRunParameters>;
export type AssetWaiveRequest = z.infer<typeof AssetWaiveRequest>;
export type AssetEvent = z.input<typeof AssetEvent>;
export type AssetEventBatchRequest = z.input<typeof AssetEventBatchRequest>;
export type AssetGateResponse = z.infer<typeof AssetGateResponse>;
export type DynamicPartitionKeysResponse = z.infer<typeof DynamicPartitionKeysResponse>;
export type AssetAutomationEvaluation = z.infer<typeof AssetAutomationEvaluation>;
export type AssetEvaluationListResponse = z.infer<typeof AssetEvaluationListResponse>;
export type AssetMaterializationLineageQuery = z.input<typeof AssetMaterializationLineageQuery>;
export type LineageInputPartition = z.infer<typeof LineageInputPartition>;
export type LineageInput = z.infer<typeof LineageInput>;
export type LineageWaiver = z.infer<typeof LineageWaiver>;
export type LineageCheck = z.infer<typeof LineageCheck>;
export type LineageRegistration = z.infer<typeof LineageRegistration>;
export type LineageRun = z.infer<typeof LineageRun>;
export type LineageMaterialization = z.infer<typeof LineageMaterialization>;
export type AssetMaterializationLineageResponse = z.infer<typeof AssetMaterializationLineageResponse>;
