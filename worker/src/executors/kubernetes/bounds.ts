/*
 * The bounds a Kubernetes worker's operator sets on what a deployment's job variables may add to a
 * run's Job. Job variables come from the control plane, which the worker does not trust (design
 * invariant 8): by default they may pick nothing the base job template does not already have — no
 * other image, service account, Secret, namespace, toleration, label or annotation — and each
 * `--allow-*` flag widens exactly one of these. Pure: no I/O.
 */

/** What the worker's `--allow-*` flags let job variables name. Every list empty: only the template's. */
export interface JobBounds {
  /** `--allow-image`: image prefixes, matched at a `/`, `:` or `@` boundary. */
  images: readonly string[];
  /** `--allow-service-account`: ServiceAccount names. */
  serviceAccounts: readonly string[];
  /** `--allow-secret`: Secrets `envFromSecrets` may read. */
  secrets: readonly string[];
  /** `--allow-namespace`: namespaces besides the worker's and the template's. */
  namespaces: readonly string[];
  /** `--allow-toleration`: taint keys a toleration may name. */
  tolerations: readonly string[];
  /** `--allow-pod-label`: label keys, or prefixes ending in `/` (`team.example.com/`). */
  podLabels: readonly string[];
  /** `--allow-pod-annotation`: annotation keys, or prefixes ending in `/`. */
  podAnnotations: readonly string[];
}

/** Nothing beyond the template: the bounds of a worker started without any `--allow-*` flag. */
export const TEMPLATE_ONLY: JobBounds = {
  images: [],
  serviceAccounts: [],
  secrets: [],
  namespaces: [],
  tolerations: [],
  podLabels: [],
  podAnnotations: [],
};

/** Which flag (and variable) widens each bound, for the message that refuses a run. */
export const BOUND_FLAGS: Record<keyof JobBounds, string> = {
  images: '--allow-image (OUTPOST_WORKER_ALLOW_IMAGES)',
  serviceAccounts: '--allow-service-account (OUTPOST_WORKER_ALLOW_SERVICE_ACCOUNTS)',
  secrets: '--allow-secret (OUTPOST_WORKER_ALLOW_SECRETS)',
  namespaces: '--allow-namespace (OUTPOST_WORKER_ALLOW_NAMESPACES)',
  tolerations: '--allow-toleration (OUTPOST_WORKER_ALLOW_TOLERATIONS)',
  podLabels: '--allow-pod-label (OUTPOST_WORKER_ALLOW_POD_LABELS)',
  podAnnotations: '--allow-pod-annotation (OUTPOST_WORKER_ALLOW_POD_ANNOTATIONS)',
};

/**
 * Whether an image reference is under one of the prefixes, the way `--allow-source` matches sources
 * (sources/allow.ts): at a boundary only, so `registry.internal/acme` admits
 * `registry.internal/acme/train:2`, `registry.internal/acme:1` and `…/acme@sha256:…`, never
 * `registry.internal/acme-evil/…`. No prefixes: no image (the template's is allowed apart from this).
 */
export function isImageAllowed(image: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => {
    if (!image.startsWith(prefix)) return false;
    if (image.length === prefix.length || /[/:@]$/.test(prefix)) return true;
    return '/:@'.includes(image.charAt(prefix.length));
  });
}

/** Whether a label or annotation key is listed: exactly, or under a listed prefix that ends in `/`. */
export function isKeyAllowed(key: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => (entry.endsWith('/') ? key.startsWith(entry) : key === entry));
}

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes quantity (`500m`, `2Gi`, `1.5`, `1e3`) as a number; null when it is not one. */
export function quantityValue(quantity: string | number): number | null {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : null;
  const match = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][-+]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(quantity);
  if (!match) return null;
  const number = Number(match[1]);
  if (match[2]) return number * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  return number * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}
