/**
 * How the API and its clients tell each other their versions (docs/versions.md). Every request of
 * the CLI, the worker and the SDK carries `outpost-version` and a user agent
 * `outpost-<cli|worker|sdk>/<version>`; every answer of the API carries `outpost-server-version`.
 * Which client versions a server serves is the API's own policy; this module only reads versions.
 */

/** The request header naming the version of the client that sent it. */
export const CLIENT_VERSION_HEADER = 'outpost-version';
/** The answer header naming the version of the server that answered. */
export const SERVER_VERSION_HEADER = 'outpost-server-version';

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** `0.2.0` (or `0.2.0-rc.1`, `v0.2.0`) as numbers; null for anything that is not a version. */
export function parseVersion(text: string | null | undefined): Version | null {
  const match = /^v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+][0-9A-Za-z.+-]*)?$/.exec(text?.trim() ?? '');
  if (!match) return null;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** Negative when `a` is older than `b`, positive when newer, 0 when the same (pre-release tags are not compared). */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** `0.2.0` from its parts. */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** A user agent of an Outpost client, `outpost-worker/0.2.0`, read back: null for any other agent. */
export function parseClientAgent(agent: string | null | undefined): { name: string; version: string } | null {
  const match = /^outpost-([a-z][a-z-]{0,30})\/(\S{1,40})/.exec(agent ?? '');
  return match ? { name: match[1] ?? '', version: match[2] ?? '' } : null;
}

declare const unrecognised: unique symbol;

/**
 * A value of an enum that this client does not know, kept as the string a newer server sent (the
 * client's answer parsing keeps them; docs/versions.md). Only a check against the known values
 * (`isKnownValue`) turns it back into the enum, so code that switches on an answer's enum and
 * reads it as `Open<E>` is made by the compiler to handle the value it does not know.
 */
export type Unrecognised = string & { readonly [unrecognised]: true };

/** An enum field of an answer as it may arrive from a newer server: a known value, or one that is not. */
export type Open<E extends string> = E | Unrecognised;

/** Reads an answer's enum value honestly: its type says it may be one this client does not know. */
export function openValue<E extends string>(value: E): Open<E> {
  return value;
}

/** True when `value` is one of `known` (an enum schema's `options`), narrowing an `Open<E>` back to `E`. */
export function isKnownValue<E extends string>(known: readonly E[], value: string): value is E {
  return (known as readonly string[]).includes(value);
}
