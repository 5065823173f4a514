import type { OidcConfig, Workspace } from '@outpost/sdk/contracts';
import { Name } from '@outpost/sdk/contracts';
import type { Context, Hono } from 'hono';
import { OidcError } from '../auth/oidc.js';
import {
  finishOidcSignIn,
  OIDC_CALLBACK_PATH,
  OIDC_COOKIE_PATH,
  OIDC_LOGIN_SECONDS,
  OIDC_STATE_COOKIE,
  type OidcSignedIn,
  SsoError,
  type SsoFailure,
  safeReturnTo,
  startOidcSignIn,
} from '../auth/oidc-sign-in.js';
import { requestAddress } from '../auth/permissions.js';
import { isHttps, readCookie, sessionCookies } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { deleteOidcProvider, getOidcProvider, type OidcProviderRecord, upsertOidcProvider } from '../db/oidc.js';
import { getWorkspace } from '../db/workspaces.js';
import { ApiError, errorCode, notFound } from '../errors.js';
import { noteAudit } from '../http/audit.js';
import type { AppEnv } from '../http/env.js';
import { API_PREFIX } from '../http/mount-routes.js';
import type { Handlers } from './types.js';

function toConfig(deps: AppDeps, provider: OidcProviderRecord, workspace: Workspace): OidcConfig {
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    hasClientSecret: provider.clientSecretEncrypted !== null,
    defaultRole: provider.defaultRole,
    allowedDomains: provider.allowedDomains,
    redirectUri: `${deps.publicUrl}${OIDC_CALLBACK_PATH}`,
    signInPath: `${API_PREFIX}/auth/oidc/${workspace.slug}/start`,
    updatedAt: provider.updatedAt.toISOString(),
  };
}

async function workspaceOf(deps: AppDeps, id: string): Promise<Workspace> {
  const workspace = await getWorkspace(deps.sql, id);
  if (!workspace) throw new ApiError('unauthenticated', 'the workspace of this credential no longer exists');
  return workspace;
}

const invalid = (path: string, message: string) =>
  new ApiError('validation_failed', 'the single sign-on settings are invalid', { errors: [{ path, message }] });

export const ssoHandlers = {
  oidcConfigGet: async ({ principal, deps }) => {
    const provider = await getOidcProvider(deps.sql, principal.workspaceId);
    if (!provider) throw notFound('single sign-on settings');
    return toConfig(deps, provider, await workspaceOf(deps, principal.workspaceId));
  },

  oidcConfigPut: async ({ body, principal, deps }) => {
    const workspaceId = principal.workspaceId;
    try {
      // Only the form is checked here; the issuer is first contacted when someone signs in.
      deps.oidc.checkUrl(body.issuer, 'the issuer');
    } catch (error) {
      if (error instanceof OidcError) throw invalid('body.issuer', error.message);
      throw error;
    }
    const allowedDomains = [...new Set(body.allowedDomains ?? [])];
    const defaultRole = body.defaultRole ?? null;
    if (defaultRole !== null && allowedDomains.length === 0) {
      throw invalid('body.allowedDomains', 'name the email domains whose people may join with the default role');
    }
    const existing = await getOidcProvider(deps.sql, workspaceId);
    let sealed = existing?.clientSecretEncrypted ?? null;
    if (body.clientSecret === null) sealed = null;
    else if (body.clientSecret !== undefined) {
      if (!deps.secretBox) {
        throw invalid(
          'body.clientSecret',
          'the server has no OUTPOST_SECRET_KEY to encrypt it with; set one, or use a public client',
        );
      }
      sealed = deps.secretBox.seal(body.clientSecret, workspaceId);
    }
    const provider = await upsertOidcProvider(deps.sql, {
      workspaceId,
      issuer: body.issuer,
      clientId: body.clientId,
      clientSecretEncrypted: sealed,
      defaultRole,
      allowedDomains,
    });
    return toConfig(deps, provider, await workspaceOf(deps, workspaceId));
  },

  oidcConfigDelete: async ({ principal, deps }) => {
    if (!(await deleteOidcProvider(deps.sql, principal.workspaceId))) throw notFound('single sign-on settings');
    return null;
  },
} satisfies Pick<Handlers, 'oidcConfigGet' | 'oidcConfigPut' | 'oidcConfigDelete'>;

// ---- the browser's side: redirects, no credential --------------------------------------------------

function stateCookie(value: string, maxAge: number, secure: boolean): string {
  return `${OIDC_STATE_COOKIE}=${value}; Path=${OIDC_COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/** A top-level navigation of a browser, rather than a call of an API client. */
function acceptsHtml(c: Context<AppEnv>): boolean {
  return /\btext\/html\b/.test(c.req.header('accept') ?? '');
}

function redirect(c: Context<AppEnv>, location: string, cookies: string[]): Response {
  for (const cookie of cookies) c.header('set-cookie', cookie, { append: true });
  c.header('cache-control', 'no-store');
  return c.redirect(location, 302);
}

/**
 * `GET /auth/oidc/:workspace/start?returnTo=/runs` sends the browser to the identity provider with
 * state, nonce and a PKCE challenge; `GET /auth/oidc/callback` comes back with the code, opens a
 * session and lands on the dashboard. The state cookie is SameSite=Lax: the callback is a top-level
 * navigation from the provider's site, which a Strict cookie would not accompany.
 */
export function mountOidcBrowserRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.get(`${API_PREFIX}/auth/oidc/:workspace/start`, async (c) => {
    const returnTo = safeReturnTo(c.req.query('returnTo'));
    try {
      deps.rateLimiter.checkAnonymous(requestAddress(c, deps));
      const slug = Name.safeParse(c.req.param('workspace'));
      if (!slug.success) throw notFound('single sign-on for this workspace');
      const { location, state } = await startOidcSignIn(deps, { workspaceSlug: slug.data, returnTo });
      return redirect(c, location, [stateCookie(state, OIDC_LOGIN_SECONDS, isHttps(c.req))]);
    } catch (error) {
      // A browser that navigated here lands back on the sign-in page with the reason; API clients get
      // the problem document. Either way a workspace without single sign-on looks like an unknown one.
      const code = errorCode(error);
      if (code === null || !acceptsHtml(c)) throw error;
      const failure: SsoFailure = code === 'not_found' ? 'sso_off' : code === 'rate_limited' ? 'sso_busy' : 'sso_unavailable';
      const next = returnTo === '/' ? '' : `&next=${encodeURIComponent(returnTo)}`;
      return redirect(c, `/#/sign-in?error=${failure}${next}`, []);
    }
  });

  app.get(OIDC_CALLBACK_PATH, async (c) => {
    deps.rateLimiter.checkAnonymous(requestAddress(c, deps));
    const secure = isHttps(c.req);
    const cleared = stateCookie('', 0, secure);
    const code = c.req.query('code');
    const state = c.req.query('state');
    let signedIn: OidcSignedIn;
    try {
      if (c.req.query('error') !== undefined || !code || !state || code.length > 4096 || state.length > 200) {
        throw new SsoError('sso_rejected', 'the identity provider did not sign the person in');
      }
      signedIn = await finishOidcSignIn(deps, {
        code,
        state,
        cookieState: readCookie(c.req.header('cookie'), OIDC_STATE_COOKIE),
      });
    } catch (error) {
      if (!(error instanceof SsoError)) throw error;
      c.get('logger').warn({ err: error, failure: error.failure }, 'single sign-on failed');
      return redirect(c, `/#/sign-in?error=${error.failure}`, [cleared]);
    }
    const { opened, userId, workspaceId, returnTo, verifiedNow, accepted } = signedIn;
    if (accepted) {
      noteAudit(c, {
        workspaceId,
        actorKind: 'user',
        actorId: userId,
        action: 'accountInvitationsAccept',
        targetIds: { userId },
        resultIds: {},
        summary: { through: 'single sign-on' },
      });
    }
    noteAudit(c, {
      workspaceId,
      actorKind: 'user',
      actorId: userId,
      action: 'authOidcSignIn',
      targetIds: { userId },
      resultIds: { sessionId: opened.principal.sessionId },
      summary: verifiedNow ? { emailVerified: true } : {},
    });
    c.get('logger').info({ sessionId: opened.principal.sessionId, userId }, 'single sign-on');
    return redirect(c, `/#${returnTo}`, [cleared, ...sessionCookies(opened, secure)]);
  });
}
