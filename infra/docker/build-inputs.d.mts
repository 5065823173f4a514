/** The label on each image that holds the digest of what it was built from. */
export const INPUTS_LABEL: string;
/** sha256 (hex) over `values` and every entry under `context`: path, kind and mode, bytes or link target. */
export function buildInputs(context: string, values: Record<string, string>): string;
