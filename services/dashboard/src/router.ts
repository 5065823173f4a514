import { useSyncExternalStore } from 'react';

export interface HashLocation {
  path: string;
  search: URLSearchParams;
}

export type Route =
  | { name: 'overview' }
  | { name: 'runs' }
  | { name: 'run'; id: string }
  | { name: 'deployments' }
  | { name: 'deployment'; id: string }
  | { name: 'assets' }
  | { name: 'asset'; key: string }
  | { name: 'lineage' }
  | { name: 'work-pools' }
  | { name: 'approvals' }
  | { name: 'events' }
  | { name: 'webhooks' }
  | { name: 'automations' }
  | { name: 'automation'; id: string }
  | { name: 'notifications' }
  | { name: 'sensors' }
  | { name: 'sensor'; id: string }
  | { name: 'settings' }
  | { name: 'organisation' }
  | { name: 'sign-in' }
  | { name: 'set-password' }
  | { name: 'reset-password' }
  | { name: 'confirm-email' }
  | { name: 'confirm-recipient' }
  | { name: 'not-found' };

/** `#/runs/abc?state=FAILED` → path `/runs/abc`, search `state=FAILED`. */
export function parseHash(hash: string): HashLocation {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = (q >= 0 ? raw.slice(0, q) : raw) || '/';
  return { path: path.startsWith('/') ? path : `/${path}`, search: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
}

export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  const [first, second, ...rest] = parts;
  if (rest.length > 0) return { name: 'not-found' };
  if (!first) return { name: 'overview' };
  if (first === 'runs' && second) {
    try {
      return { name: 'run', id: decodeURIComponent(second) };
    } catch {
      return { name: 'not-found' };
    }
  }
  if (first === 'automations' && second) return { name: 'automation', id: second };
  if (first === 'deployments' && second)
    return /^[0-9a-f-]{36}$/i.test(second) ? { name: 'deployment', id: second } : { name: 'not-found' };
  // An asset key has slashes of its own (`raw/events`): it travels as one encoded segment.
  if (first === 'assets' && second) {
    try {
      return { name: 'asset', key: decodeURIComponent(second) };
    } catch {
      return { name: 'not-found' };
    }
  }
  if (first === 'sensors' && second)
    return /^[0-9a-f-]{36}$/i.test(second) ? { name: 'sensor', id: second } : { name: 'not-found' };
  if (second) return { name: 'not-found' };
  switch (first) {
    case 'overview':
      return { name: 'overview' };
    case 'organisation':
      return { name: 'organisation' };
    case 'runs':
      return { name: 'runs' };
    case 'deployments':
      return { name: 'deployments' };
    case 'assets':
      return { name: 'assets' };
    case 'lineage':
      return { name: 'lineage' };
    case 'work-pools':
      return { name: 'work-pools' };
    case 'approvals':
      return { name: 'approvals' };
    case 'events':
      return { name: 'events' };
    case 'webhooks':
      return { name: 'webhooks' };
    case 'automations':
      return { name: 'automations' };
    case 'notifications':
      return { name: 'notifications' };
    case 'sensors':
      return { name: 'sensors' };
    case 'settings':
      return { name: 'settings' };
    case 'sign-in':
      return { name: 'sign-in' };
    case 'set-password':
      return { name: 'set-password' };
    case 'reset-password':
      return { name: 'reset-password' };
    case 'confirm-email':
      return { name: 'confirm-email' };
    case 'confirm-recipient':
      return { name: 'confirm-recipient' };
    default:
      return { name: 'not-found' };
  }
}

/** The address of an asset's page: `#/assets/raw%2Fevents`. */
export function assetPath(key: string): string {
  return `/assets/${encodeURIComponent(key)}`;
}

export function href(path: string, search?: URLSearchParams | Record<string, string>): string {
  const s = search instanceof URLSearchParams ? search.toString() : new URLSearchParams(search ?? {}).toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function navigate(path: string, search?: URLSearchParams | Record<string, string>, options: { replace?: boolean } = {}) {
  const target = href(path, search);
  if (options.replace) {
    const url = new URL(window.location.href);
    url.hash = target;
    window.history.replaceState(window.history.state, '', url);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = target;
  }
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}
