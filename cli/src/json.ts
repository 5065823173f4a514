/** A value as the CLI prints it under --json: indented JSON. No imports, so the entry point can use it. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
