import { DEFAULT_PORT } from '@outpost/sdk/contracts';
import { UsageError } from './cli-error.js';
import type { Env } from './load-env.js';

export { type Env, loadEnv } from './load-env.js';

/** Where `outpost dev` serves the API; also the URL used when none is configured. */
export const DEFAULT_API_URL = `http://127.0.0.1:${DEFAULT_PORT}`;

export interface ApiSettings {
  apiUrl: string;
  apiKey: string;
}

/** Flags first, then `OUTPOST_*` variables (shell, then `.env`). */
export function resolveApiSettings(flags: { apiUrl?: string | undefined; apiKey?: string | undefined }, env: Env): ApiSettings {
  const apiKey = nonEmpty(flags.apiKey) ?? nonEmpty(env.OUTPOST_API_KEY);
  if (!apiKey) {
    throw new UsageError('no API key: pass --api-key or set OUTPOST_API_KEY (in the shell or in .env)', [
      '`npm start` prints a local owner key and keeps it in .outpost/credentials.json',
    ]);
  }
  return { apiUrl: resolveApiUrl(flags.apiUrl, env), apiKey };
}

/** The API's URL without a trailing slash: `--api-url`, then OUTPOST_API_URL, then the local default. */
export function resolveApiUrl(flag: string | undefined, env: Env): string {
  const apiUrl = nonEmpty(flag) ?? nonEmpty(env.OUTPOST_API_URL) ?? DEFAULT_API_URL;
  let parsed: URL;
  try {
    parsed = new URL(apiUrl);
  } catch {
    throw new UsageError(`the API URL "${apiUrl}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`the API URL "${apiUrl}" must start with http:// or https://`);
  }
  return apiUrl.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}
