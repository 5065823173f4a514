// Runs in a child process of `outpost deploy`: imports one built flow module, so that the user's
// module-level code runs here and never inside the CLI, and sends back the flows, assets and sensors it registered.
import { pathToFileURL } from 'node:url';

interface RegisteredFlow {
  name: string;
  parameterSchema(): object | null;
}

interface RegisteredAsset {
  key: string;
  definition(): object;
}

interface RegisteredSensor {
  flow: string | null;
  definition(): object;
}

type Report =
  | { flows: { name: string; parameterSchema: object | null }[]; assets: object[]; sensors: object[] }
  | { error: string; usage?: boolean };

function send(report: Report, code: number): void {
  if (!process.send) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(code);
  }
  process.send(report, () => process.exit(code));
}

const entry = process.argv[2];
// The bundle's directory: places (`definedAt`, duplicate keys) are said relative to it, as in the project.
const root = process.argv[3];
const relative = (text: string) => (root ? text.replaceAll(`${root}/`, '') : text);

if (!entry) {
  send({ error: 'no module given' }, 2);
} else {
  try {
    // Stacks name the project's source lines (the bundle carries its source map), so assets say where they are defined.
    process.setSourceMapsEnabled(true);
    await import(pathToFileURL(entry).href);
    const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('outpost.flows')] as
      | Map<string, RegisteredFlow>
      | undefined;
    const flows = [...(registry?.values() ?? [])].map((f) => ({ name: f.name, parameterSchema: f.parameterSchema() }));
    const assetRegistry = (globalThis as Record<symbol, unknown>)[Symbol.for('outpost.assets')] as
      | Map<string, RegisteredAsset>
      | undefined;
    const assets = [...(assetRegistry?.values() ?? [])].map((a) => {
      const definition = a.definition() as { definedAt?: string };
      return definition.definedAt ? { ...definition, definedAt: relative(definition.definedAt) } : definition;
    });
    const sensorRegistry = (globalThis as Record<symbol, unknown>)[Symbol.for('outpost.sensors')] as
      | Map<string, RegisteredSensor>
      | undefined;
    const sensors = [...(sensorRegistry?.values() ?? [])].map((s) => ({ ...s.definition(), flow: s.flow }));
    send({ flows, assets, sensors }, 0);
  } catch (error) {
    const message = relative(error instanceof Error ? error.message : String(error));
    // A key defined twice is a mistake in the project, not a failure of the module.
    send({ error: message, usage: error instanceof Error && error.name === 'DuplicateAssetKeyError' }, 1);
  }
}
