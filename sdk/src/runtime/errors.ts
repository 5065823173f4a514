/** One invalid parameter: a dotted path (`items[2].name`, `(root)` for the whole object) and why. */
export interface ParameterIssue {
  path: string;
  message: string;
}

/** Parameters that do not match the flow's schema; the message lists every field path. */
export class ParameterValidationError extends Error {
  override readonly name = 'ParameterValidationError';
  constructor(
    readonly flowName: string,
    readonly issues: ParameterIssue[],
  ) {
    super(`invalid parameters for flow '${flowName}': ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}

/** A flow ran past its `timeoutSeconds`. */
export class FlowTimeoutError extends Error {
  override readonly name = 'FlowTimeoutError';
  constructor(
    readonly flowName: string,
    readonly timeoutSeconds: number,
  ) {
    super(`flow '${flowName}' timed out after ${timeoutSeconds}s`);
  }
}

/** One attempt of a task ran past its `timeoutSeconds`. */
export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError';
  constructor(
    readonly taskKey: string,
    readonly timeoutSeconds: number,
  ) {
    super(`task '${taskKey}' timed out after ${timeoutSeconds}s`);
  }
}

/** The run was cancelled (by a user, through the worker). */
export class FlowCancelledError extends Error {
  override readonly name = 'FlowCancelledError';
  constructor(readonly reason: string) {
    super(`flow run cancelled: ${reason}`);
  }
}

/** Anything thrown, as an Error: user code may throw strings or plain objects. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const error = new Error(typeof thrown === 'string' ? thrown : safeString(thrown));
  error.name = 'NonErrorThrown';
  return error;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `Name: message`, the form a failed state's message takes. */
export function describeError(error: Error): string {
  return `${error.name}: ${error.message}`;
}
