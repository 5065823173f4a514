import { isAbsolute } from 'node:path';
import { DIGEST_PATTERN } from './digest.js';
import { BundleError } from './errors.js';

/** A bundle location, as written in a deployment's `source` or a push target. */
export type ParsedSource =
  | {
      kind: 'oci';
      /** `host[:port]` of the registry, e.g. `registry.internal:5000`. */
      host: string;
      /** Repository inside the registry, e.g. `acme/flows`. */
      repository: string;
      tag: string | null;
      digest: string | null;
    }
  | {
      kind: 'oci-layout';
      /** As written: absolute for `oci-layout:///abs/dir`, possibly relative for `oci-layout:./dir`. */
      path: string;
      digest: string | null;
    }
  | {
      kind: 'dir';
      /** Absolute path of a directory holding the bundle's files. */
      path: string;
    };

// The OCI distribution spec's grammar for repository names and tags.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;
const ALGORITHM_PREFIX = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/;

function invalid(source: string, reason: string): BundleError {
  return new BundleError('invalid', `invalid bundle source "${source}": ${reason}`);
}

/** Splits a trailing `@<algorithm>:<hex>` off, rejecting digests this module cannot verify. */
function splitDigest(source: string, text: string): { rest: string; digest: string | null } {
  const at = text.lastIndexOf('@');
  if (at === -1) return { rest: text, digest: null };
  const candidate = text.slice(at + 1);
  if (!ALGORITHM_PREFIX.test(candidate)) return { rest: text, digest: null };
  if (!DIGEST_PATTERN.test(candidate)) throw invalid(source, 'the digest must be sha256:<64 lowercase hex digits>');
  return { rest: text.slice(0, at), digest: candidate };
}

function parseOci(source: string): ParsedSource {
  const { rest, digest } = splitDigest(source, source.slice('oci://'.length));
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid(source, 'expected oci://host[:port]/repository');
  const host = rest.slice(0, slash);
  if (!HOST_PATTERN.test(host)) throw invalid(source, `"${host}" is not a registry host`);
  let repository = rest.slice(slash + 1);
  let tag: string | null = null;
  const colon = repository.lastIndexOf(':');
  if (colon !== -1) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) throw invalid(source, `"${tag}" is not a valid tag`);
  }
  if (repository.length > 255 || !REPOSITORY_PATTERN.test(repository)) {
    throw invalid(source, `"${repository}" is not a valid repository name (lowercase letters, digits, . _ - and /)`);
  }
  return { kind: 'oci', host, repository, tag, digest };
}

function parseLayout(source: string): ParsedSource {
  let text = source.slice('oci-layout:'.length);
  if (text.startsWith('//')) {
    if (!text.startsWith('///')) throw invalid(source, 'an oci-layout URL needs an absolute path: oci-layout:///abs/dir');
    text = text.slice(2);
  }
  const { rest, digest } = splitDigest(source, text);
  if (rest.length === 0) throw invalid(source, 'the layout directory is missing');
  return { kind: 'oci-layout', path: rest, digest };
}

function parseDir(source: string): ParsedSource {
  let text = source.slice('dir:'.length);
  if (text.startsWith('//')) text = text.slice(2);
  if (!isAbsolute(text)) throw invalid(source, 'a dir source needs an absolute path: dir:///abs/path');
  return { kind: 'dir', path: text };
}

/**
 * Parses `oci://host[:port]/repository[:tag][@sha256:…]`, `oci-layout:./dir`,
 * `oci-layout:///abs/dir[@sha256:…]` and `dir:///abs/path`; throws `BundleError('invalid')` otherwise.
 */
export function parseSource(source: string): ParsedSource {
  if (source.startsWith('oci://')) return parseOci(source);
  if (source.startsWith('oci-layout:')) return parseLayout(source);
  if (source.startsWith('dir:')) return parseDir(source);
  throw invalid(source, 'expected oci://…, oci-layout:… or dir:///…');
}

/** The registry's host without the port, brackets removed from IPv6 literals. */
export function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** Loopback registries are spoken to over plain HTTP: they are the local dev and test setup. */
export function isLoopbackHost(host: string): boolean {
  const name = hostname(host).toLowerCase();
  return name === 'localhost' || name === '::1' || /^127(?:\.[0-9]{1,3}){3}$/.test(name);
}
