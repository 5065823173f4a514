// Runs in a child process of `outpost deploy`: imports one built flow module, so that the user's
// module-level code runs here and never inside the CLI, and sends back the flows it registered.
import { pathToFileURL } from 'node:url';

interface RegisteredFlow {
  name: string;
  parameterSchema(): object | null;
}

type Report = { flows: { name: string; parameterSchema: object | null }[] } | { error: string };

function send(report: Report, code: number): void {
  if (!process.send) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(code);
  }
  process.send(report, () => process.exit(code));
}

const entry = process.argv[2];
if (!entry) {
  send({ error: 'no module given' }, 2);
} else {
  try {
    await import(pathToFileURL(entry).href);
    const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('outpost.flows')] as
      | Map<string, RegisteredFlow>
      | undefined;
    const flows = [...(registry?.values() ?? [])].map((f) => ({ name: f.name, parameterSchema: f.parameterSchema() }));
    send({ flows }, 0);
  } catch (error) {
    send({ error: error instanceof Error ? error.message : String(error) }, 1);
  }
}
