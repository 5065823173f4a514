export type {
  RegisteredSensor,
  Sensor,
  SensorContext,
  SensorFunction,
  SensorOptions,
  SensorReturn,
  SensorRunRequest,
} from './sensor.js';
export { SENSOR_REGISTRY_KEY, sensor, sensorRegistry } from './sensor.js';
export type { SensorProcessMessage } from './sensor-runner.js';
