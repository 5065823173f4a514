import { navigate, parseHash } from '../router.js';
import { ApiClient } from './client.js';

/** The page's one API client: a 401 anywhere sends the user to sign in, then back where they were. */
export const api = new ApiClient({
  onUnauthenticated: () => {
    const here = parseHash(window.location.hash);
    if (here.path === '/sign-in') return;
    const next = window.location.hash.replace(/^#/, '') || '/';
    navigate('/sign-in', { next }, { replace: true });
  },
});
