import type { OrganisationTokenScope } from '@outpost/sdk/contracts';
import { Api } from './api.js';
import { type CommandContext, stringOption } from './command.js';
import { UsageError } from './errors.js';
import { resolveApiSettings } from './settings.js';

/**
 * The API as an organisation token (OUTPOST_ORGANISATION_TOKEN) reaches it, for the commands that
 * read across an organisation's workspaces; `scope` names what the token needs in the hint when none is set.
 */
export function organisationTokenApi(ctx: CommandContext, scope: OrganisationTokenScope): Api {
  const token = ctx.env.OUTPOST_ORGANISATION_TOKEN?.trim();
  if (!token) {
    throw new UsageError('no organisation token: set OUTPOST_ORGANISATION_TOKEN', [
      `an owner or admin makes one on the dashboard's Organisation page (Tokens), with the scope ${scope}`,
    ]);
  }
  return new Api(resolveApiSettings({ apiUrl: stringOption(ctx.values, 'api-url'), apiKey: token }, ctx.env));
}
