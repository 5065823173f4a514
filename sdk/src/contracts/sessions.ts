import * as z from 'zod';
import { WhoAmIResponse } from './workspaces.js';

/**
 * `POST /api/v1/auth/session` — exchange a one-time sign-in token (from the link `npm start` prints)
 * or an API key for a browser session: exactly one of the two. Success (200) sets the HttpOnly
 * `outpost_session` cookie and the script-readable `outpost_csrf` cookie; a bad token or key is a 401.
 */
export const AuthSessionCreateRequest = z
  .strictObject({
    token: z.string().min(1).max(4000).optional(),
    apiKey: z.string().min(1).max(500).optional(),
  })
  .refine((body) => (body.token === undefined) !== (body.apiKey === undefined), {
    message: 'send exactly one of "token" and "apiKey"',
  });
export type AuthSessionCreateRequest = z.input<typeof AuthSessionCreateRequest>;

/** The session's workspace and principal, as `GET /whoami` answers inside the session. */
export const AuthSessionCreateResponse = WhoAmIResponse;
export type AuthSessionCreateResponse = z.infer<typeof AuthSessionCreateResponse>;

/** `DELETE /api/v1/auth/session` — sign out: revokes the session and clears both cookies; 204. */
export const AuthSessionDeleteResponse = z.null();

/** Cookie and header names of browser sessions. */
export const SESSION_COOKIE = 'outpost_session';
export const CSRF_COOKIE = 'outpost_csrf';
/** Mutating requests made with the session cookie carry the `outpost_csrf` cookie's value in this header. */
export const CSRF_HEADER = 'x-outpost-csrf';

/**
 * How a person's session was opened: with the account's password, with a workspace's single sign-on,
 * or with an organisation's. A workspace's identity provider is that workspace's owner's choice,
 * trusted there and nowhere else: such a session stays in its workspace and acts on no organisation.
 * An organisation's provider is trusted across that organisation: its session moves between the
 * organisation's workspaces and acts on it, and on nothing outside it. A password session goes
 * wherever its person may.
 */
export const SessionMethod = z.enum(['password', 'single-sign-on', 'organisation-sign-on']);
export type SessionMethod = z.infer<typeof SessionMethod>;
