import { useEffect, useEffectEvent, useState } from 'react';
import { navigate } from '../router.js';

/**
 * The token of a link Outpost emailed or an admin handed over (`#/<path>?token=…`). Each link that
 * arrives (also a second one in the same tab) starts afresh through `onArrive`; the token then leaves
 * the address bar and is kept in memory only, so it is neither in history nor on screen.
 */
export function useLinkToken(search: URLSearchParams, path: string, onArrive: () => void): string {
  const tokenInAddress = search.get('token');
  const [token, setToken] = useState(() => tokenInAddress ?? '');
  const arrive = useEffectEvent(onArrive);
  useEffect(() => {
    if (!tokenInAddress) return;
    setToken(tokenInAddress);
    arrive();
    navigate(path, undefined, { replace: true });
  }, [tokenInAddress, path]);
  return token;
}
