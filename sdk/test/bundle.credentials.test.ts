import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRegistryCredentials } from '../src/bundle/index.js';
import { useTemporaryDirs } from './support/bundle.js';

const temporaryDir = useTemporaryDirs('outpost-bundle-credentials-');

async function dockerConfig(config: unknown): Promise<string> {
  const dir = await temporaryDir();
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

function basic(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

describe('resolveRegistryCredentials', () => {
  it('takes OUTPOST_REGISTRY_USERNAME and OUTPOST_REGISTRY_PASSWORD before any Docker config', async () => {
    const DOCKER_CONFIG = await dockerConfig({ auths: { 'registry.internal:5000': { auth: basic('docker', 'config') } } });
    const env = { OUTPOST_REGISTRY_USERNAME: 'deployer', OUTPOST_REGISTRY_PASSWORD: 's3cret', DOCKER_CONFIG };
    expect(await resolveRegistryCredentials('registry.internal:5000', env)).toEqual({ username: 'deployer', password: 's3cret' });
  });

  it('refuses a username without a password rather than silently going anonymous', async () => {
    await expect(
      resolveRegistryCredentials('registry.internal:5000', { OUTPOST_REGISTRY_USERNAME: 'deployer' }),
    ).rejects.toMatchObject({
      code: 'invalid',
    });
  });

  it('reads auths[host].auth from $DOCKER_CONFIG/config.json, keeping colons inside the password', async () => {
    const DOCKER_CONFIG = await dockerConfig({
      auths: {
        'https://other.example.com': { auth: basic('other', 'nope') },
        'https://registry.internal:5000/v1/': { auth: basic('robot', 'pa:ss:word') },
      },
    });
    expect(await resolveRegistryCredentials('registry.internal:5000', { DOCKER_CONFIG })).toEqual({
      username: 'robot',
      password: 'pa:ss:word',
    });
  });

  it('prefers an identitytoken over the auth string', async () => {
    const DOCKER_CONFIG = await dockerConfig({
      auths: { 'registry.internal:5000': { auth: basic('<token>', ''), identitytoken: 'refresh-me' } },
    });
    expect(await resolveRegistryCredentials('registry.internal:5000', { DOCKER_CONFIG })).toEqual({
      identityToken: 'refresh-me',
    });
  });

  it('falls back to ~/.docker/config.json under HOME', async () => {
    const HOME = await temporaryDir();
    await mkdir(join(HOME, '.docker'));
    await writeFile(join(HOME, '.docker', 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: basic('me', 'pat') } } }));
    expect(await resolveRegistryCredentials('ghcr.io', { HOME })).toEqual({ username: 'me', password: 'pat' });
  });

  it('maps Docker Hub hosts to the legacy index key Docker writes', async () => {
    const DOCKER_CONFIG = await dockerConfig({ auths: { 'https://index.docker.io/v1/': { auth: basic('hubuser', 'hubpass') } } });
    expect(await resolveRegistryCredentials('registry-1.docker.io', { DOCKER_CONFIG })).toEqual({
      username: 'hubuser',
      password: 'hubpass',
    });
  });

  it('returns null when nothing is configured for the host', async () => {
    const DOCKER_CONFIG = await dockerConfig({ auths: { 'elsewhere:5000': { auth: basic('a', 'b') } } });
    expect(await resolveRegistryCredentials('registry.internal:5000', { DOCKER_CONFIG })).toBeNull();
    expect(await resolveRegistryCredentials('registry.internal:5000', { DOCKER_CONFIG: await temporaryDir() })).toBeNull();
  });

  it('reports a Docker config that is not JSON as invalid', async () => {
    const DOCKER_CONFIG = await temporaryDir();
    await writeFile(join(DOCKER_CONFIG, 'config.json'), '{ not json');
    await expect(resolveRegistryCredentials('registry.internal:5000', { DOCKER_CONFIG })).rejects.toMatchObject({
      code: 'invalid',
    });
  });

  it('asks the credential helper named in credHelpers, passing the host on stdin', async () => {
    const bin = await temporaryDir();
    const helper = join(bin, 'docker-credential-outposttest');
    await writeFile(
      helper,
      [
        '#!/bin/sh',
        'read server',
        'if [ "$1" = get ] && [ "$server" = "registry.internal:5000" ]; then',
        '  printf \'{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}\' "$server"',
        'else',
        '  echo "credentials not found in native keychain"; exit 1',
        'fi',
      ].join('\n'),
    );
    await chmod(helper, 0o755);
    const DOCKER_CONFIG = await dockerConfig({
      credHelpers: { 'registry.internal:5000': 'outposttest' },
      credsStore: 'outposttest',
    });
    const env = { DOCKER_CONFIG, PATH: `${bin}:${process.env.PATH}` };
    expect(await resolveRegistryCredentials('registry.internal:5000', env)).toEqual({
      username: 'helper-user',
      password: 'helper-secret',
    });
    // The credsStore answers "not found" for another host: anonymous, not an error.
    expect(await resolveRegistryCredentials('other.internal', env)).toBeNull();
  });
});
