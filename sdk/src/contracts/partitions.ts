import type * as z from 'zod';
import { partitionSchemas } from './partitions-schemas.js';

/*
 * The schemas are built in `./partitions-schemas.js`, on first use; importing this module builds them all.
 */

export const {
  PartitionKey,
  AnyPartitionKey,
  TimeCadence,
  TimeWindowPartitions,
  StaticPartitions,
  DynamicPartitions,
  SinglePartitions,
  MultiPartitions,
  PartitionsDefinition,
} = partitionSchemas();

export type TimeCadence = z.infer<typeof TimeCadence>;
export type TimeWindowPartitions = z.infer<typeof TimeWindowPartitions>;
export type StaticPartitions = z.infer<typeof StaticPartitions>;
export type DynamicPartitions = z.infer<typeof DynamicPartitions>;
export type SinglePartitions = z.infer<typeof SinglePartitions>;
export type MultiPartitions = z.infer<typeof MultiPartitions>;
export type PartitionsDefinition = z.infer<typeof PartitionsDefinition>;
export type PartitionsDefinitionInput = z.input<typeof PartitionsDefinition>;
