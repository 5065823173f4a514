/** The label on each image that holds the digest of what it was built from. */
export const INPUTS_LABEL: string;
/** sha256 (hex) over every entry under `dir`: path, kind and mode, bytes or link target. */
export function treeDigest(dir: string): string;
/** sha256 (hex) over an image's inputs, each by name (the context's treeDigest among them). */
export function buildInputs(values: Record<string, string>): string;
