import { pathToFileURL } from 'node:url';
import { SensorResult } from '../contracts/sensors.js';
import { describeError, toError } from '../runtime/errors.js';
import { isMainModule } from '../runtime/main-module.js';
import { sendToParent } from '../runtime/send-to-parent.js';
import { type RegisteredSensor, SENSOR_REGISTRY_KEY } from './sensor.js';

/*
 * The sensor process's entry point: the worker spawns `node <this file> <entry> <sensor>` with an IPC
 * channel, in the deployment's bundle directory with its variables, and the previous tick in
 * OUTPOST_SENSOR_TICK (`{"cursor": …, "lastTickAt": …}`). It loads the bundle, evaluates the one
 * sensor once and sends `{t: 'sensorResult', result}` or `{t: 'sensorError', error}`; the worker bounds
 * the time and reads stdout and stderr as the tick's log.
 */

export type SensorProcessMessage = { t: 'sensorResult'; result: SensorResult } | { t: 'sensorError'; error: string };

const send = (message: SensorProcessMessage): Promise<void> => sendToParent(message);

async function evaluate(entry: string, name: string, tick: { cursor: string | null; lastTickAt: string | null }) {
  try {
    await import(pathToFileURL(entry).href);
  } catch (thrown) {
    const error = toError(thrown);
    return { t: 'sensorError' as const, error: `could not load ${entry}: ${describeError(error)}` };
  }
  const registry = (globalThis as { [SENSOR_REGISTRY_KEY]?: Map<string, RegisteredSensor> })[SENSOR_REGISTRY_KEY];
  const sensor = registry?.get(name);
  if (!sensor) {
    const found = [...(registry?.keys() ?? [])].map((n) => `'${n}'`).join(', ') || 'none';
    return { t: 'sensorError' as const, error: `sensor '${name}' is not defined in ${entry}; sensors found: ${found}` };
  }
  try {
    const returned = await sensor.evaluate({
      cursor: tick.cursor,
      lastTickAt: tick.lastTickAt === null ? null : new Date(tick.lastTickAt),
    });
    // The bundle's own copy of the SDK checked it; this copy speaks the worker's contract, so it checks again.
    const result = SensorResult.safeParse(returned);
    if (!result.success) {
      const issue = result.error.issues[0];
      return {
        t: 'sensorError' as const,
        error: `the sensor returned an invalid result: ${issue?.path.join('.')}: ${issue?.message}`,
      };
    }
    return { t: 'sensorResult' as const, result: result.data };
  } catch (thrown) {
    const error = toError(thrown);
    return { t: 'sensorError' as const, error: describeError(error) };
  }
}

async function main(): Promise<number> {
  const [entry, name] = process.argv.slice(2);
  if (!entry || !name) {
    process.stderr.write('usage: sensor-runner <entry module> <sensor name> (started by an Outpost worker)\n');
    return 2;
  }
  process.on('disconnect', () => process.exit(1));
  process.setSourceMapsEnabled(true);
  const tick = JSON.parse(process.env.OUTPOST_SENSOR_TICK ?? '{"cursor":null,"lastTickAt":null}') as {
    cursor: string | null;
    lastTickAt: string | null;
  };
  await send(await evaluate(entry, name, tick));
  return 0;
}

if (isMainModule(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`outpost sensor runner: ${toError(error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
