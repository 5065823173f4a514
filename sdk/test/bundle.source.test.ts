import { describe, expect, it } from 'vitest';
import { parseSource } from '../src/bundle/index.js';

const digest = `sha256:${'c'.repeat(64)}`;

describe('parseSource', () => {
  it('reads registry references with a port, a nested repository, a tag and a digest', () => {
    expect(parseSource(`oci://registry.internal:5000/acme/flows@${digest}`)).toEqual({
      kind: 'oci',
      host: 'registry.internal:5000',
      repository: 'acme/flows',
      tag: null,
      digest,
    });
    expect(parseSource('oci://127.0.0.1:5000/acme/flows:v1.2')).toEqual({
      kind: 'oci',
      host: '127.0.0.1:5000',
      repository: 'acme/flows',
      tag: 'v1.2',
      digest: null,
    });
    expect(parseSource(`oci://[::1]:5000/a:t@${digest}`)).toMatchObject({
      host: '[::1]:5000',
      repository: 'a',
      tag: 't',
      digest,
    });
  });

  it('reads absolute and relative layout directories and dir sources', () => {
    expect(parseSource(`oci-layout:///srv/bundles@${digest}`)).toEqual({ kind: 'oci-layout', path: '/srv/bundles', digest });
    expect(parseSource('oci-layout:./.outpost/registry')).toEqual({
      kind: 'oci-layout',
      path: './.outpost/registry',
      digest: null,
    });
    expect(parseSource('dir:///opt/flows')).toEqual({ kind: 'dir', path: '/opt/flows' });
  });

  it.each([
    ['an unknown scheme', 'https://registry/acme'],
    ['a registry reference without a repository', 'oci://registry.internal:5000'],
    ['an uppercase repository', 'oci://registry/Acme/Flows'],
    ['a digest that is not sha256 hex', 'oci://registry/acme@sha256:xyz'],
    ['an unsupported digest algorithm', `oci://registry/acme@sha512:${'a'.repeat(128)}`],
    ['a layout URL with a host', 'oci-layout://host/dir'],
    ['a relative dir source', 'dir:relative/path'],
  ])('rejects %s as invalid', (_what, source) => {
    expect(() => parseSource(source)).toThrow(expect.objectContaining({ code: 'invalid' }));
  });
});
