import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EventWebhookSecretResponse, EventWebhookTemplate } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime, table } from '../output.js';

/** The URL, secret and a signed example request, printed once (nothing shows them again). */
function printSecrets(ctx: CommandContext, made: EventWebhookSecretResponse): void {
  const url = `${new URL(ctx.api().url).origin}${made.path}`;
  if (ctx.json) {
    ctx.out(json({ ...made, url }));
    return;
  }
  const header = made.webhook.signatureHeader;
  ctx.out(`webhook:   ${made.webhook.name} (${made.webhook.id})`);
  ctx.out(`url:       ${url}`);
  ctx.out(`secret:    ${made.secret}`);
  ctx.out('');
  ctx.out('The URL and the secret are shown only now. Sign each body with the secret:');
  ctx.out(`  body='{"ref":"refs/heads/main"}'`);
  ctx.out(`  sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac '${made.secret}' | sed 's/^.* //')"`);
  ctx.out(`  curl -X POST '${url}' -H 'content-type: application/json' -H "${header}: $sig" -d "$body"`);
}

async function template(ctx: CommandContext): Promise<EventWebhookTemplate> {
  const file = stringOption(ctx.values, 'template');
  const kind = stringOption(ctx.values, 'kind');
  if (file !== undefined) {
    try {
      return JSON.parse(await readFile(path.resolve(ctx.cwd, file), 'utf8')) as EventWebhookTemplate;
    } catch (error) {
      throw new UsageError(`cannot read the template ${file}: ${(error as Error).message}`);
    }
  }
  if (kind === undefined) throw new UsageError('give --kind <event-kind> or --template <file.json>');
  // Without a template file the whole body is kept under `body`: say so with --template for less.
  return { kind, payload: { body: '{{ body }}' } };
}

export const webhooksCreate: Command = {
  name: 'webhooks create',
  summary: 'Create an inbound webhook; prints its URL and signing secret once',
  args: '<name>',
  options: {
    kind: { type: 'string', placeholder: '<kind>', description: 'the event kind; the payload is then the whole body' },
    template: {
      type: 'string',
      placeholder: '<file.json>',
      description: 'a template {kind, resource?, payload} whose strings may hold {{ CEL }} over body and headers',
    },
    'signature-header': {
      type: 'string',
      placeholder: '<name>',
      description: 'header carrying sha256=<hex> (default x-outpost-signature; GitHub: x-hub-signature-256)',
    },
    description: { type: 'string', placeholder: '<text>', description: 'what the webhook is for' },
  },
  async run(ctx) {
    const description = stringOption(ctx.values, 'description');
    const signatureHeader = stringOption(ctx.values, 'signature-header');
    const made = await ctx.api().call(
      'eventWebhooksCreate',
      {
        body: {
          name: ctx.positionals[0] as string,
          template: await template(ctx),
          ...(description ? { description } : {}),
          ...(signatureHeader ? { signatureHeader } : {}),
        },
      },
      'cannot create the webhook',
    );
    printSecrets(ctx, made);
    return EXIT.ok;
  },
};

export const webhooksLs: Command = {
  name: 'webhooks ls',
  summary: "List the workspace's inbound webhooks",
  async run(ctx) {
    const list = await ctx.api().call('eventWebhooksList', {}, 'cannot list webhooks');
    if (ctx.json) {
      ctx.out(json(list.items));
      return EXIT.ok;
    }
    const rows = list.items.map((w) => [w.name, w.template.kind, w.enabled ? 'yes' : 'no', shortTime(w.lastUsedAt), w.id]);
    for (const line of table(['NAME', 'KIND', 'ENABLED', 'LAST USED (UTC)', 'ID'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

async function webhookId(ctx: CommandContext, nameOrId: string): Promise<string> {
  const list = await ctx.api().call('eventWebhooksList', {}, 'cannot list webhooks');
  const found = list.items.find((w) => w.name === nameOrId || w.id === nameOrId);
  if (!found) throw new UsageError(`no webhook named ${nameOrId}`);
  return found.id;
}

export const webhooksRotate: Command = {
  name: 'webhooks rotate',
  summary: 'Give a webhook a new URL and secret (printed once); the old ones stop working',
  args: '<name>',
  async run(ctx) {
    const id = await webhookId(ctx, ctx.positionals[0] as string);
    printSecrets(ctx, await ctx.api().call('eventWebhooksRotate', { params: { id } }, 'cannot rotate the webhook'));
    return EXIT.ok;
  },
};

export const webhooksRm: Command = {
  name: 'webhooks rm',
  summary: 'Delete a webhook; its URL stops working',
  args: '<name>',
  async run(ctx) {
    const name = ctx.positionals[0] as string;
    await ctx.api().call('eventWebhooksDelete', { params: { id: await webhookId(ctx, name) } }, 'cannot delete the webhook');
    ctx.out(ctx.json ? json({ deleted: name }) : `deleted webhook ${name}`);
    return EXIT.ok;
  },
};
