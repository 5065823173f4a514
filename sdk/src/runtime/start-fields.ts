/*
 * What the runner reads of the `start` message before the bundle's own runtime checks all of it
 * against `StartMessage` (protocol.ts). Free of zod, so a flow process builds no schema of its own
 * before the bundle's copy of the SDK does.
 */

/** The fields of `RunDescriptor` a bundle built before run contexts accepts. */
export const RUN_DESCRIPTOR_BASE_FIELDS = ['id', 'attempt', 'name', 'flowName', 'deploymentId', 'parameters'] as const;

/** The start message as far as the runner uses it; the rest is the bundle runtime's to check. */
export interface StartFields {
  t: 'start';
  run: { flowName: string } & Record<string, unknown>;
  entry: string;
  env?: Record<string, string>;
  cwd?: string;
}

/** `raw` as the fields the runner uses, or why it is not a start message it can act on. */
export function startFields(raw: unknown): { ok: true; start: StartFields } | { ok: false; message: string } {
  const start = raw as Partial<Record<keyof StartFields, unknown>> | null;
  if (start?.t !== 'start') return { ok: false, message: 't: expected "start"' };
  const run = start.run as { flowName?: unknown } | null | undefined;
  if (typeof run !== 'object' || run === null || Array.isArray(run)) return { ok: false, message: 'run: expected an object' };
  if (typeof run.flowName !== 'string' || run.flowName === '') return { ok: false, message: 'run.flowName: expected a name' };
  if (typeof start.entry !== 'string' || start.entry === '') return { ok: false, message: 'entry: expected a path' };
  if (start.cwd !== undefined && (typeof start.cwd !== 'string' || start.cwd === '')) {
    return { ok: false, message: 'cwd: expected a path' };
  }
  if (start.env !== undefined) {
    const env = start.env as Record<string, unknown> | null;
    if (typeof env !== 'object' || env === null || Array.isArray(env) || Object.values(env).some((v) => typeof v !== 'string')) {
      return { ok: false, message: 'env: expected string values' };
    }
  }
  return { ok: true, start: start as StartFields };
}
