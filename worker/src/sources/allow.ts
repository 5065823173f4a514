/**
 * Whether a deployment's source is one this worker may run code from. A prefix matches at a boundary
 * only — `oci://registry.internal` admits `oci://registry.internal/acme/flows@…` and
 * `oci://registry.internal:5000/…`, never `oci://registry.internal.example.com/…` — so an operator
 * can pin the worker to their own registry or git server, and a control plane that names anything
 * else gets a refusal instead of code execution inside the network. No prefixes: any source.
 */
export function isSourceAllowed(source: string, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return true;
  return prefixes.some((prefix) => {
    if (!source.startsWith(prefix)) return false;
    if (source.length === prefix.length || /[/:@#]$/.test(prefix)) return true;
    return '/:@#'.includes(source.charAt(prefix.length));
  });
}
