import type * as z from 'zod';
import { sensorSchemas } from './sensors-schemas.js';

/*
 * The schemas are built in `./sensors-schemas.js`, on first use; importing this module builds them all.
 */

export { MAX_SENSOR_CURSOR_LENGTH, MAX_SENSOR_RUN_REQUESTS, MIN_SENSOR_INTERVAL_SECONDS } from './sensors-schemas.js';
export const {
  SensorDefinitionInput,
  SensorCursor,
  SensorRunRequest,
  SensorResult,
  SensorTickStatus,
  SensorTickRun,
  SensorTick,
  Sensor,
  SensorListQuery,
  SensorListResponse,
  SensorTickListQuery,
  SensorTickListResponse,
  SensorTickClaimRequest,
  ClaimedSensorTick,
  SensorTickClaimResponse,
  SensorTickCompleteRequest,
  SensorTickParams,
} = sensorSchemas();

export type SensorDefinitionInput = z.infer<typeof SensorDefinitionInput>;
export type SensorRunRequest = z.infer<typeof SensorRunRequest>;
export type SensorResult = z.infer<typeof SensorResult>;
export type SensorResultInput = z.input<typeof SensorResult>;
export type SensorTickStatus = z.infer<typeof SensorTickStatus>;
export type SensorTickRun = z.infer<typeof SensorTickRun>;
export type SensorTick = z.infer<typeof SensorTick>;
export type Sensor = z.infer<typeof Sensor>;
export type SensorListResponse = z.infer<typeof SensorListResponse>;
export type SensorTickListResponse = z.infer<typeof SensorTickListResponse>;
export type SensorTickClaimRequest = z.input<typeof SensorTickClaimRequest>;
export type ClaimedSensorTick = z.infer<typeof ClaimedSensorTick>;
export type SensorTickClaimResponse = z.infer<typeof SensorTickClaimResponse>;
export type SensorTickCompleteRequest = z.input<typeof SensorTickCompleteRequest>;
