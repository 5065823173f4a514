import { createHmac, randomUUID } from 'node:crypto';
import { type Role, type RouteDef, type RouteName, routes, SCIM_SCHEMAS, servedPath } from '@outpost/sdk/contracts';
import { newEmailLink, newPasswordResetLink } from '../src/identity/email-links.js';
import { requestConfirmations } from '../src/notifications/recipients.js';
import { createOrganisationToken, type TestOidcProvider, type TestServer, type TestWorkspace } from '../src/testing/index.js';
import { type Call, client, organisationOf, type Reply, replyOf, SOURCE } from './helpers.js';
import { cookieValue } from './sessions.support.js';
import { PASSWORD } from './users.support.js';

/*
 * A valid request for every route of the contract table, built in a workspace ("scene") for a given
 * caller. The security suites derive their cases from `routes`, so a route added to the table without
 * a fixture here fails them: nobody can add a route without security coverage.
 */

export type Caller = { kind: 'key'; role: Role; key: string; keyId: string } | { kind: 'run_token' } | { kind: 'anonymous' };

export interface Spec {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** The credential to send instead of the caller's (a run token of the run the spec names). */
  bearer?: string;
  /** A person's browser session to send (routes of a person's own account), instead of any bearer. */
  session?: PersonCookies;
  /** A Cookie header a browser sends along (the single sign-on state cookie), besides any credential. */
  cookie?: string;
  /** Other request headers (an inbound webhook's signature). */
  headers?: Record<string, string>;
  /**
   * The organisation token the directory's routes (`organisationTokenOnly`) take, and nothing else:
   * never sent by itself, the suites send it as the bearer where they test who may call.
   */
  organisationToken?: string;
}

/** The cookies of a person's browser session. */
export interface PersonCookies {
  cookie: string;
  csrf: string;
  userId: string;
  email: string;
}

export type Fixture = (scene: Scene, caller: Caller) => Promise<Spec>;

/** A WAITING approval wait of a running held run, begun with its run token. */
async function approvalWait(s: Scene, held: HeldRun): Promise<string> {
  const res = await client(s.server, held.token)('POST', `/flow-runs/${held.id}/waits`, {
    body: { key: uniqueName('wait'), spec: { kind: 'approval', title: 'Go' } },
  });
  if (res.status !== 200) throw new Error(`wait not created: ${res.status} ${res.text}`);
  return res.body.wait.id;
}

let unique = 0;
export const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++unique}`;

export interface HeldRun {
  id: string;
  token: string;
  /** The worker API key whose worker claimed it. */
  key: string;
}

/** One workspace with the objects routes refer to; names carry the scene's tag, so no two scenes share one. */
export class Scene {
  readonly owner: Call;
  readonly pool: string;
  readonly heldPool: string;
  readonly idlePool: string;
  readonly flowName: string;
  readonly deploymentName: string;
  /** The pool of the scene's asset deployment (kept apart: its runs are claimed by their own helper). */
  readonly assetPool: string;
  #assets: Promise<SceneAssets> | null = null;
  #keys = new Map<string, string>();
  #deployment: { id: string; flowId: string } | null = null;
  #heldDeployment: string | null = null;
  #oidc = false;
  #scimToken: Promise<string> | null = null;
  /** The identity provider a browser's single sign-on goes to; suites that sign in through one set it. */
  provider: TestOidcProvider | null = null;

  constructor(
    readonly server: TestServer,
    readonly ws: TestWorkspace,
    readonly tag: string,
  ) {
    this.owner = client(server, ws.ownerKey);
    this.pool = `${tag}-pool`;
    this.heldPool = `${tag}-held`;
    this.idlePool = `${tag}-idle`;
    this.flowName = `${tag}-flow`;
    this.deploymentName = `${tag}-dep`;
    this.assetPool = `${tag}-assets`;
  }

  async #ok(method: string, path: string, body?: unknown): Promise<Reply['body']> {
    const res = await this.owner(method, path, { body });
    if (res.status >= 300) throw new Error(`scene setup ${method} ${path} failed: ${res.status} ${res.text}`);
    return res.body;
  }

  async setUp(): Promise<this> {
    for (const pool of [this.pool, this.heldPool, this.idlePool]) await this.#ok('POST', '/work-pools', { name: pool });
    const deployed = await this.#ok('PUT', '/deployments', {
      flowName: this.flowName,
      name: this.deploymentName,
      source: SOURCE,
      entrypoint: 'flows/main.js',
      workPool: this.pool,
      schedules: [{ slug: 'hourly', intervalSeconds: 3600 }],
    });
    this.#deployment = { id: deployed.deployment.id, flowId: deployed.deployment.flowId };
    const held = await this.#ok('PUT', '/deployments', {
      flowName: this.flowName,
      name: `${this.deploymentName}-held`,
      source: SOURCE,
      entrypoint: 'flows/main.js',
      workPool: this.heldPool,
    });
    this.#heldDeployment = held.deployment.id;
    return this;
  }

  get deployment(): { id: string; flowId: string } {
    if (!this.#deployment) throw new Error('scene not set up');
    return this.#deployment;
  }

  /** An API key of this role (one per role, made on first use). */
  async key(role: Role): Promise<string> {
    let key = this.#keys.get(role);
    if (!key) {
      key = await this.ws.createKey(role);
      this.#keys.set(role, key);
    }
    return key;
  }

  async caller(role: Role): Promise<Caller & { kind: 'key' }> {
    const key = await this.key(role);
    const who = await client(this.server, key)('GET', '/whoami');
    return { kind: 'key', role, key, keyId: who.body.principal.id };
  }

  /** A fresh inbound webhook of the scene, with its URL token and secret. */
  async webhook(): Promise<{ id: string; token: string; secret: string }> {
    const made = await this.#ok('POST', '/event-webhooks', {
      name: uniqueName(this.tag),
      template: { kind: 'security.hook', payload: { ref: '{{ body.ref }}' } },
    });
    return { id: made.webhook.id, token: made.token, secret: made.secret };
  }

  /** A fresh SCHEDULED run of the scene's deployment. */
  async run(): Promise<{ id: string }> {
    return (await this.#ok('POST', `/deployments/${this.deployment.id}/runs`, {})).flowRun;
  }

  /** A fresh run claimed by a worker of `key` (the scene's worker key by default), RUNNING when asked. */
  async held(key?: string, options: { running?: boolean } = {}): Promise<HeldRun> {
    const workerKey = key ?? (await this.key('worker'));
    await this.#ok('POST', `/deployments/${this.#heldDeployment}/runs`, {});
    const res = await client(this.server, workerKey)('POST', `/work-pools/${this.heldPool}/claim`, {
      body: { workerId: randomUUID(), limit: 1 },
    });
    const claimed = res.body?.runs?.[0];
    if (!claimed) throw new Error(`claim returned no run: ${res.status} ${res.text}`);
    const run: HeldRun = { id: claimed.flowRun.id, token: claimed.token, key: workerKey };
    if (options.running) {
      const started = await client(this.server, run.token)('POST', `/flow-runs/${run.id}/set-state`, {
        body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
      });
      if (started.body?.status !== 'ACCEPT') throw new Error(`run did not start: ${started.text}`);
    }
    return run;
  }

  /**
   * The run a run-scoped route acts on for this caller, and the credential to send: a run token is
   * the token of that run; a worker key holds the run itself; anyone else reads a held run.
   */
  async runFor(caller: Caller, options: { running?: boolean } = {}): Promise<{ run: HeldRun; bearer?: string }> {
    if (caller.kind === 'key' && caller.role === 'worker') return { run: await this.held(caller.key, options) };
    const run = await this.held(undefined, options);
    return caller.kind === 'run_token' ? { run, bearer: run.token } : { run };
  }

  /**
   * The scene's asset deployment (made on first use): `a` with a blocking check that has failed,
   * `b` downstream of it, and `dyn` partitioned by the dynamic set `set`.
   */
  assets(): Promise<SceneAssets> {
    this.#assets ??= this.#setUpAssets();
    return this.#assets;
  }

  async #setUpAssets(): Promise<SceneAssets> {
    const names: SceneAssets = {
      deploymentId: '',
      a: `${this.tag}/a`,
      b: `${this.tag}/b`,
      dyn: `${this.tag}/dyn`,
      set: `${this.tag}-set`,
      check: 'gate_check',
    };
    await this.#ok('POST', '/work-pools', { name: this.assetPool });
    const deployed = await this.#ok('PUT', '/deployments', {
      flowName: 'assets',
      name: `${this.tag}-assets`,
      source: SOURCE,
      entrypoint: 'assets.js',
      workPool: this.assetPool,
      assets: [
        { key: names.a, codeVersion: 'v1', checks: [{ name: names.check, blocking: true }] },
        { key: names.b, codeVersion: 'v1', deps: [names.a] },
        { key: names.dyn, codeVersion: 'v1', partitions: { kind: 'dynamic', name: names.set } },
      ],
    });
    names.deploymentId = deployed.deployment.id;
    await this.#ok('POST', `/dynamic-partitions/${names.set}`, { keys: ['first'] });
    // The blocking check of `a` has failed: waivers have something to waive.
    const run = await this.#heldAssetRun(names, await this.key('worker'));
    const reported = await client(this.server, run.token)('POST', `/flow-runs/${run.id}/asset-events`, {
      body: {
        attempt: 1,
        events: [
          {
            kind: 'materialization',
            id: randomUUID(),
            assetKey: names.a,
            partitionKey: null,
            codeVersion: 'v1',
            dataVersion: null,
            durationMs: 1,
          },
          {
            kind: 'check',
            id: randomUUID(),
            assetKey: names.a,
            checkName: names.check,
            partitionKey: null,
            materializationId: null,
            passed: false,
            severity: 'ERROR',
            blocking: true,
          },
        ],
      },
    });
    if (reported.status !== 200) throw new Error(`asset events failed: ${reported.status} ${reported.text}`);
    return names;
  }

  async #heldAssetRun(names: SceneAssets, workerKey: string): Promise<HeldRun> {
    const made = await this.#ok('POST', `/deployments/${names.deploymentId}/runs`, {
      parameters: { assets: [names.a, names.b] },
    });
    const res = await client(this.server, workerKey)('POST', `/work-pools/${this.assetPool}/claim`, {
      body: { workerId: randomUUID(), limit: 50 },
    });
    const claimed = res.body?.runs?.find((r: { flowRun: { id: string } }) => r.flowRun.id === made.flowRun.id);
    if (!claimed) throw new Error(`claim returned no asset run: ${res.status} ${res.text}`);
    const started = await client(this.server, claimed.token)('POST', `/flow-runs/${claimed.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    if (started.body?.status !== 'ACCEPT') throw new Error(`asset run did not start: ${started.text}`);
    return { id: claimed.flowRun.id, token: claimed.token, key: workerKey };
  }

  /** A RUNNING run of the asset deployment selecting `a` and `b`, for a caller as `runFor` gives one. */
  async assetRunFor(caller: Caller): Promise<{ run: HeldRun; bearer?: string; names: SceneAssets }> {
    const names = await this.assets();
    const workerKey = caller.kind === 'key' && caller.role === 'worker' ? caller.key : await this.key('worker');
    const run = await this.#heldAssetRun(names, workerKey);
    return { run, names, ...(caller.kind === 'run_token' ? { bearer: run.token } : {}) };
  }

  async taskRun(run: HeldRun): Promise<string> {
    const id = randomUUID();
    await client(this.server, run.token)('POST', `/flow-runs/${run.id}/task-runs`, {
      body: { id, flowRunAttempt: 1, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' } },
    });
    return id;
  }

  async member(role: 'viewer' | 'runner' = 'viewer'): Promise<{ userId: string; email: string; setupToken: string }> {
    const email = `${uniqueName(this.tag)}@example.com`;
    const added = await this.#ok('POST', '/members', { email, role });
    return { userId: added.member.userId, email, setupToken: added.setupToken };
  }

  async person(): Promise<{ userId: string; email: string }> {
    const member = await this.member();
    const res = await this.server.app.request('/api/v1/auth/password/setup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: member.setupToken, password: PASSWORD }),
    });
    if (res.status !== 204) throw new Error(`password setup failed: ${res.status}`);
    return member;
  }

  /** An emailed link's token for a member of the scene (as the mail would carry it), and the member. */
  async emailLink(): Promise<{ token: string; userId: string; email: string }> {
    const member = await this.member();
    const { link } = await newEmailLink(this.server.sql, this.server.url, {
      userId: member.userId,
      email: member.email,
      workspaceId: null,
    });
    const token = new URL(link.replace('/#/', '/')).searchParams.get('token') ?? '';
    return { token, userId: member.userId, email: member.email };
  }

  /** A password reset link's token for a member of the scene (as the mail would carry it). */
  async resetLink(): Promise<string> {
    const member = await this.member();
    const { link } = await newPasswordResetLink(this.server.sql, this.server.url, { userId: member.userId, email: member.email });
    return new URL(link.replace('/#/', '/')).searchParams.get('token') ?? '';
  }

  /** The token of a confirmation link mailed to a new external recipient of the scene's email channels. */
  async recipientLink(): Promise<string> {
    const [link] = await requestConfirmations(this.server.sql, this.ws.workspaceId, [`${uniqueName(this.tag)}@example.com`]);
    if (!link) throw new Error('no confirmation link was made');
    return link.token;
  }

  /** A member of the scene whose address was just verified through an emailed link (setting PASSWORD). */
  async #confirmedMember(): Promise<{ userId: string; email: string }> {
    const { token, userId, email } = await this.emailLink();
    const confirmed = await this.server.app.request('/api/v1/auth/email/confirm', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: PASSWORD }),
    });
    if (confirmed.status !== 200) throw new Error(`confirming the address failed: ${confirmed.status}`);
    return { userId, email };
  }

  /** A member whose address is verified (through an emailed link), signed in with a browser session. */
  async verifiedPerson(): Promise<PersonCookies> {
    const { userId, email } = await this.#confirmedMember();
    return { ...(await this.signIn(email)), userId, email };
  }

  /** A member of the scene whose address is not verified (the workspace manages the account), signed in. */
  async managedPerson(): Promise<PersonCookies> {
    const person = await this.person();
    return { ...(await this.signIn(person.email)), ...person };
  }

  async signIn(email: string, workspace?: string): Promise<{ cookie: string; csrf: string }> {
    const res = await this.server.app.request('/api/v1/auth/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD, ...(workspace ? { workspace } : {}) }),
    });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
    const cookies = res.headers.getSetCookie();
    const session = cookieValue(cookies, 'outpost_session');
    const csrf = cookieValue(cookies, 'outpost_csrf') ?? '';
    return { cookie: `outpost_session=${session}; outpost_csrf=${csrf}`, csrf };
  }

  /** The slug of the scene's organisation (the organisation its workspace was created in). */
  async organisation(): Promise<string> {
    return (await organisationOf(this.server, this.ws.workspaceId)).slug;
  }

  /** The scene workspace's slug. */
  async slug(): Promise<string> {
    const [row] = await this.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${this.ws.workspaceId}`;
    if (!row) throw new Error('the scene has no workspace');
    return row.slug;
  }

  /** A verified person made owner of the scene's organisation, signed in to the scene's workspace. */
  async organisationOwner(): Promise<PersonCookies> {
    const { userId, email } = await this.#confirmedMember();
    await this.server.sql`
      UPDATE organisation_members SET role = 'owner'
      WHERE user_id = ${userId} AND organisation_id = (SELECT organisation_id FROM workspaces WHERE id = ${this.ws.workspaceId})`;
    return { ...(await this.signIn(email, await this.slug())), userId, email };
  }

  /** The organisation token of the scene's directory (scope `scim`), made once per scene. */
  async scimToken(): Promise<string> {
    this.#scimToken ??= createOrganisationToken(this.server.sql, this.ws.workspaceId, uniqueName('directory'), ['scim']);
    return this.#scimToken;
  }

  /** A request through the scene's directory (SCIM); its answer's body. */
  async #scim(method: string, path: string, body: unknown): Promise<Reply['body']> {
    const res = await this.server.app.request(`/api/v1/organisations/${await this.organisation()}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.scimToken()}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`scene setup ${method} ${path} failed: ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** A person the scene's directory provisioned; their id. */
  async scimUser(): Promise<string> {
    const body = { schemas: [SCIM_SCHEMAS.user], userName: `${uniqueName(this.tag)}@example.com` };
    return (await this.#scim('POST', '/Users', body)).id;
  }

  /** A group of the scene's directory, with one person in it; its id. */
  async scimGroup(): Promise<string> {
    const member = await this.scimUser();
    const body = { schemas: [SCIM_SCHEMAS.group], displayName: uniqueName(this.tag), members: [{ value: member }] };
    return (await this.#scim('POST', '/Groups', body)).id;
  }

  /** A live organisation token of the scene's organisation holding `audit:read`, made by its owner. */
  async organisationToken(): Promise<{ id: string; token: string }> {
    const owner = await this.organisationOwner();
    const res = await this.server.app.request(`/api/v1/organisations/${await this.organisation()}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: owner.cookie, 'x-outpost-csrf': owner.csrf },
      body: JSON.stringify({ name: uniqueName('siem'), scopes: ['audit:read'] }),
    });
    if (res.status !== 201) throw new Error(`organisation token not made: ${res.status} ${await res.text()}`);
    const made = (await res.json()) as { token: string; organisationToken: { id: string } };
    return { id: made.organisationToken.id, token: made.token };
  }

  /** A workspace slug nobody has taken. */
  freshSlug(): string {
    return uniqueName(this.tag)
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-');
  }

  /** A new workspace in the scene's organisation, archived when asked; its slug. */
  async organisationWorkspace(archived = false): Promise<string> {
    const slug = this.freshSlug();
    await this.server.sql`
      INSERT INTO workspaces (organisation_id, slug, name, archived_at)
      SELECT organisation_id, ${slug}, ${slug}, ${archived ? new Date() : null} FROM workspaces WHERE id = ${this.ws.workspaceId}`;
    return slug;
  }

  /** A directory group of the scene's organisation, as the directory (SCIM) would make it; its id. */
  async directoryGroup(): Promise<string> {
    const [row] = await this.server.sql<{ id: string }[]>`
      INSERT INTO directory_groups (organisation_id, display_name)
      SELECT organisation_id, ${uniqueName(this.tag)} FROM workspaces WHERE id = ${this.ws.workspaceId}
      RETURNING id`;
    if (!row) throw new Error('the directory group was not made');
    return row.id;
  }

  /** A workspace of its own that invites the person; its id. */
  async inviteElsewhere(person: { email: string }): Promise<string> {
    const other = await this.server.createWorkspace();
    const res = await client(this.server, other.ownerKey)('POST', '/members', { body: { email: person.email, role: 'viewer' } });
    if (res.body?.outcome !== 'invited') throw new Error(`the invitation failed: ${res.status} ${res.text}`);
    return other.workspaceId;
  }

  async automation(): Promise<string> {
    const created = await this.#ok('POST', '/automations', {
      name: uniqueName(this.tag),
      trigger: { type: 'event', match: 'event.kind == "never.happens"' },
      actions: [{ type: 'pause-pool', pool: 'nowhere' }],
    });
    return created.id;
  }

  async limitTag(): Promise<string> {
    const tag = uniqueName(this.tag);
    await this.#ok('POST', '/concurrency-limits', { tag, limit: 5 });
    return tag;
  }

  /** A fresh webhook notification channel of the scene (never sent: the suites run without loops). */
  async channel(): Promise<string> {
    const name = uniqueName(this.tag);
    await this.#ok('POST', '/notification-channels', { name, kind: 'webhook', url: 'https://hooks.example.com/outpost' });
    return name;
  }

  /** A pending notification delivery of the scene: a channel's test notification. */
  async delivery(): Promise<string> {
    return (await this.#ok('POST', `/notification-channels/${await this.channel()}/test`)).id;
  }

  async backfill(): Promise<string> {
    const created = await this.#ok('POST', `/deployments/${this.deployment.id}/backfills`, {
      schedule: 'hourly',
      start: '2024-01-01T00:00:00.000Z',
      end: '2024-01-01T02:00:00.000Z',
    });
    return created.id;
  }

  async oidc(): Promise<void> {
    if (this.#oidc) return;
    await this.#ok('PUT', '/sso/oidc', { issuer: 'https://idp.example.com', clientId: `${this.tag}-client` });
    this.#oidc = true;
  }

  /** Single sign-on set up with the scene's provider (any address at example.com joins as a viewer); its start path. */
  async sso(): Promise<string> {
    const idp = this.provider;
    if (!idp) throw new Error('the scene has no identity provider');
    const config = await this.#ok('PUT', '/sso/oidc', {
      issuer: idp.issuer,
      clientId: idp.clientId,
      defaultRole: 'viewer',
      allowedDomains: ['example.com'],
    });
    return config.signInPath;
  }

  /** The organisation's own single sign-on, with the scene's provider when it has one (addresses at example.com); its start path. */
  async organisationSso(): Promise<string> {
    const owner = await this.organisationOwner();
    const res = await this.server.app.request(`/api/v1/organisations/${await this.organisation()}/sso`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie: owner.cookie, 'x-outpost-csrf': owner.csrf },
      body: JSON.stringify({
        issuer: this.provider?.issuer ?? 'https://idp.example.com',
        clientId: this.provider?.clientId ?? `${this.tag}-client`,
        allowedDomains: ['example.com'],
      }),
    });
    if (res.status !== 200) throw new Error(`organisation single sign-on not set: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { signInPath: string }).signInPath;
  }

  /** The provider's redirect back, as a browser that started single sign-on brings it: the query and the state cookie. */
  async oidcCallback(): Promise<Spec> {
    const start = await this.server.app.request(await this.sso());
    if (start.status !== 302) throw new Error(`single sign-on did not start: ${start.status} ${await start.text()}`);
    const state = cookieValue(start.headers.getSetCookie(), 'outpost_oidc');
    const atProvider = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
    const back = new URL(atProvider.headers.get('location') ?? '');
    return { query: Object.fromEntries(back.searchParams), cookie: `outpost_oidc=${state}` };
  }

  async apiKeyId(): Promise<string> {
    return (await this.#ok('POST', '/api-keys', { name: uniqueName('revocable'), role: 'viewer' })).apiKey.id;
  }
}

/** The names of a scene's asset deployment and its assets. */
export interface SceneAssets {
  deploymentId: string;
  a: string;
  b: string;
  dyn: string;
  set: string;
  check: string;
}

const run = (id: string) => ({ id });
const state = (type: string) => ({ transitionId: randomUUID(), state: { type } });

/*
 * Sensors of a scene: a deployment of its own pool defining one sensor each time one is asked for,
 * since a claimed tick holds its sensor's lease and a sensor is due once per interval.
 */
const sensorPools = new WeakMap<Scene, Promise<string>>();

async function sensorPool(s: Scene): Promise<string> {
  let made = sensorPools.get(s);
  if (!made) {
    const pool = `${s.tag}-sensors`;
    made = s.owner('POST', '/work-pools', { body: { name: pool } }).then((res) => {
      if (res.status !== 201) throw new Error(`sensor pool setup failed: ${res.status} ${res.text}`);
      return pool;
    });
    sensorPools.set(s, made);
  }
  return made;
}

/** A fresh sensor, due now; its id. */
async function freshSensor(s: Scene): Promise<string> {
  const pool = await sensorPool(s);
  const res = await s.owner('PUT', '/deployments', {
    body: {
      flowName: s.flowName,
      name: uniqueName(`${s.tag}-sensed`),
      source: SOURCE,
      entrypoint: 'flows/main.js',
      workPool: pool,
      sensors: [{ name: 'watch', intervalSeconds: 60 }],
    },
  });
  if (res.status >= 300) throw new Error(`sensor deployment failed: ${res.status} ${res.text}`);
  const listed = await s.owner('GET', `/sensors?deployment=${res.body.deployment.id}`);
  const id = listed.body?.items?.[0]?.id;
  if (!id) throw new Error(`the sensor was not registered: ${listed.text}`);
  return id;
}

/** A tick of a fresh sensor, claimed by a worker of the caller's key when the caller is a worker key. */
async function claimedTick(s: Scene, c: Caller): Promise<{ pool: string; tickId: string; workerId: string }> {
  const sensorId = await freshSensor(s);
  const pool = await sensorPool(s);
  // A caller that may complete ticks claims its own: a tick is leased to the key and worker that claimed it.
  const key = c.kind === 'key' && ['worker', 'owner', 'admin'].includes(c.role) ? c.key : await s.key('worker');
  const workerId = randomUUID();
  // The scene's pool holds the due ticks of every earlier case's sensor: claim until this one's comes.
  let tick: { tickId: string } | undefined;
  let res: Awaited<ReturnType<ReturnType<typeof client>>> | undefined;
  for (let round = 0; round < 50 && !tick; round++) {
    res = await client(s.server, key)('POST', `/work-pools/${pool}/sensor-ticks/claim`, { body: { workerId, limit: 20 } });
    if (!res.body?.ticks?.length) break;
    tick = res.body.ticks.find((t: { sensor: { id: string } }) => t.sensor.id === sensorId);
  }
  if (!tick) throw new Error(`the sensor's tick was not claimed: ${res?.status} ${res?.text}`);
  return { pool, tickId: tick.tickId, workerId };
}

/** A due poll of a fresh external wait, claimed by a worker of the caller's key when the caller may claim. */
async function claimedPoll(s: Scene, c: Caller): Promise<{ waitId: string; leaseId: string; workerId: string }> {
  const key = c.kind === 'key' && ['worker', 'owner', 'admin'].includes(c.role) ? c.key : await s.key('worker');
  const held = await s.held(key, { running: true });
  const spec = { kind: 'external', job: 'scene-job', handle: { id: 1 }, pollSeconds: 60, label: 'Scene job', link: null };
  const res = await client(s.server, held.token)('POST', `/flow-runs/${held.id}/waits`, { body: { key: 'wait-1', spec } });
  if (res.status !== 200) throw new Error(`external wait not created: ${res.status} ${res.text}`);
  const waitId: string = res.body.wait.id;
  await s.server.sql`UPDATE waits SET poll_at = now() - interval '1 second' WHERE id = ${waitId}`;
  const workerId = randomUUID();
  let poll: { waitId: string; leaseId: string } | undefined;
  let claimed: Awaited<ReturnType<ReturnType<typeof client>>> | undefined;
  // Earlier cases' polls are due in the same pool: claim until this one's comes.
  for (let round = 0; round < 50 && !poll; round++) {
    claimed = await client(s.server, key)('POST', `/work-pools/${s.heldPool}/external-polls/claim`, {
      body: { workerId, limit: 16 },
    });
    if (!claimed.body?.polls?.length) break;
    poll = claimed.body.polls.find((p: { waitId: string }) => p.waitId === waitId);
  }
  if (!poll) throw new Error(`the external wait's poll was not claimed: ${claimed?.status} ${claimed?.text}`);
  return { waitId, leaseId: poll.leaseId, workerId };
}

export const FIXTURES: Record<RouteName, Fixture> = {
  whoami: async () => ({}),
  apiKeysCreate: async () => ({ body: { name: uniqueName('key'), role: 'viewer' } }),
  apiKeysList: async () => ({}),
  apiKeysRevoke: async (s) => ({ params: { id: await s.apiKeyId() } }),
  flowsList: async () => ({}),
  flowsGet: async (s) => ({ params: { id: s.deployment.flowId } }),
  deploymentsUpsert: async (s) => ({
    body: { flowName: s.flowName, name: uniqueName(s.tag), source: SOURCE, entrypoint: 'e.js', workPool: s.pool },
  }),
  deploymentsList: async () => ({}),
  deploymentsGet: async (s) => ({ params: { id: s.deployment.id } }),
  deploymentsUpdate: async (s) => ({ params: { id: s.deployment.id }, body: { concurrencyLimit: 2 } }),
  deploymentsGetByName: async (s) => ({ params: { flow: s.flowName, name: s.deploymentName } }),
  deploymentsCreateRun: async (s) => ({ params: { id: s.deployment.id }, body: {} }),
  poolsCreate: async (s) => ({ body: { name: uniqueName(s.tag) } }),
  poolsList: async () => ({}),
  poolsGet: async (s) => ({ params: { pool: s.pool } }),
  poolsUpdate: async (s) => ({ params: { pool: s.pool }, body: { description: 'updated' } }),
  queuesCreate: async (s) => ({ params: { pool: s.pool }, body: { name: uniqueName('q') } }),
  queuesList: async (s) => ({ params: { pool: s.pool } }),
  queuesUpdate: async (s) => ({ params: { pool: s.pool, queue: 'default' }, body: { priority: 1 } }),
  workersList: async (s) => ({ params: { pool: s.pool } }),
  poolsMetrics: async (s) => ({ params: { pool: s.pool } }),
  workersHeartbeat: async (s) => ({
    params: { pool: s.idlePool },
    body: { workerId: randomUUID(), name: 'w', capacity: 1, runs: [] },
  }),
  claim: async (s) => ({ params: { pool: s.idlePool }, body: { workerId: randomUUID(), limit: 1 } }),
  poolRunsAdopt: async (s) => ({
    params: { pool: s.idlePool },
    body: { workerId: randomUUID(), runs: [{ id: randomUUID(), attempt: 1 }] },
  }),
  poolRunsSetStates: async (s, c) => {
    const { run: r } = await s.runFor(c);
    return {
      params: { pool: s.heldPool },
      body: { items: [{ flowRunId: r.id, ...state('RUNNING'), attempt: 1 }] },
    };
  },
  poolRunsLogsWrite: async (s, c) => {
    const { run: r } = await s.runFor(c);
    return {
      params: { pool: s.heldPool },
      body: {
        items: [
          {
            flowRunId: r.id,
            attempt: 1,
            logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'hello' }],
          },
        ],
      },
    };
  },
  flowRunsList: async () => ({}),
  flowRunsGet: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  flowRunsSetState: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    const machine = bearer !== undefined || (c.kind === 'key' && c.role === 'worker');
    return { params: run(r.id), bearer, body: machine ? { ...state('RUNNING'), attempt: 1 } : state('CANCELLING') };
  },
  flowRunsStates: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  flowRunsAttempts: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  taskRunsCreate: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return {
      params: run(r.id),
      bearer,
      body: { id: randomUUID(), flowRunAttempt: 1, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' } },
    };
  },
  taskRunsList: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  taskRunsSummary: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  taskRunsBatch: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    const id = randomUUID();
    const at = new Date().toISOString();
    return {
      params: run(r.id),
      bearer,
      body: {
        flowRunAttempt: 1,
        events: [
          { kind: 'create', id, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' }, at },
          { kind: 'state', id, seq: 1, state: { type: 'COMPLETED' }, at },
        ],
      },
    };
  },
  taskRunsSetState: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return {
      params: { runId: r.id, id: await s.taskRun(r) },
      bearer,
      body: { flowRunAttempt: 1, state: { type: 'COMPLETED' } },
    };
  },
  logsWrite: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c, { running: true });
    // A key writes the lines a worker spooled once the attempt ended; while it is held only its run token writes.
    if (c.kind === 'key') {
      const ended = await client(s.server, r.token)('POST', `/flow-runs/${r.id}/set-state`, {
        body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
      });
      if (ended.body?.status !== 'ACCEPT') throw new Error(`run did not end: ${ended.text}`);
    }
    return {
      params: run(r.id),
      bearer,
      body: { attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'hello' }] },
    };
  },
  logsRead: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  flowRunsCreateChild: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c, { running: true });
    return { params: run(r.id), bearer, body: { id: randomUUID(), attempt: 1, flowName: `${s.tag}-child` } };
  },
  flowRunsCreateDeploymentRun: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c, { running: true });
    return {
      params: run(r.id),
      bearer,
      body: { deployment: `${s.flowName}/${s.deploymentName}`, key: `call-${randomUUID()}` },
    };
  },
  flowRunsReportEnvironment: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return {
      params: { id: r.id, attempt: '1' },
      bearer,
      body: { workerVersion: '0.1.0', executor: 'process', nodeVersion: process.version, image: null, imageDigest: null },
    };
  },
  flowRunsManifest: async (s) => ({ params: run((await s.run()).id) }),
  flowRunsReproduce: async (s) => ({ params: run((await s.run()).id), body: {} }),
  flowRunsChildren: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  artifactsCreate: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return {
      params: run(r.id),
      bearer,
      body: { id: randomUUID(), flowRunAttempt: 1, key: 'report', type: 'markdown', data: { markdown: '# ok' } },
    };
  },
  artifactsList: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  artifactsLatest: async () => ({}),
  authSessionCreate: async (s) => ({ body: { apiKey: s.ws.ownerKey } }),
  authSessionDelete: async () => ({}),
  flowRunsEvents: async () => ({}),
  statsOverview: async () => ({}),
  flowRunsCancel: async (s) => ({ params: run((await s.run()).id), body: {} }),
  flowRunsRetry: async (s) => {
    const r = await s.run();
    await s.owner('POST', `/flow-runs/${r.id}/cancel`, { body: {} });
    return { params: run(r.id), body: {} };
  },
  notificationChannelsCreate: async (s) => ({
    body: { name: uniqueName(s.tag), kind: 'webhook', url: 'https://hooks.example.com/outpost' },
  }),
  notificationChannelsList: async () => ({}),
  alertRulesCreate: async (s) => ({ body: { rule: 'run-failed', channel: await s.channel() } }),
  alertRulesList: async () => ({}),
  notificationChannelsGet: async (s) => ({ params: { name: await s.channel() } }),
  notificationChannelsUpdate: async (s) => ({ params: { name: await s.channel() }, body: { enabled: false } }),
  notificationChannelsDelete: async (s) => ({ params: { name: await s.channel() } }),
  notificationChannelsTest: async (s) => ({ params: { name: await s.channel() } }),
  notificationDeliveriesList: async () => ({}),
  notificationDeliveriesGet: async (s) => ({ params: { id: await s.delivery() } }),
  notificationDeliveriesRetry: async (s) => ({ params: { id: await s.delivery() } }),
  concurrencyLimitsCreate: async (s) => ({ body: { tag: uniqueName(s.tag), limit: 3 } }),
  concurrencyLimitsList: async () => ({}),
  concurrencyLimitsGet: async (s) => ({ params: { tag: await s.limitTag() } }),
  concurrencyLimitsUpdate: async (s) => ({ params: { tag: await s.limitTag() }, body: { limit: 7 } }),
  concurrencyLimitsDelete: async (s) => ({ params: { tag: await s.limitTag() } }),
  automationsCreate: async (s) => ({
    body: {
      name: uniqueName(s.tag),
      trigger: { type: 'event', match: 'event.kind == "x.y"' },
      actions: [{ type: 'pause-pool', pool: 'p' }],
    },
  }),
  automationsList: async () => ({}),
  automationsGet: async (s) => ({ params: { id: await s.automation() } }),
  automationsUpdate: async (s) => ({ params: { id: await s.automation() }, body: { description: 'd' } }),
  automationsDelete: async (s) => ({ params: { id: await s.automation() } }),
  automationsEnable: async (s) => ({ params: { id: await s.automation() } }),
  automationsDisable: async (s) => ({ params: { id: await s.automation() } }),
  automationsFirings: async (s) => ({ params: { id: await s.automation() } }),
  automationsQuarantine: async () => ({}),
  schedulesList: async (s) => ({ params: { id: s.deployment.id } }),
  schedulesUpdate: async (s) => ({ params: { id: s.deployment.id, slug: 'hourly' }, body: { active: true } }),
  deploymentsPause: async (s) => ({ params: { id: s.deployment.id } }),
  deploymentsResume: async (s) => ({ params: { id: s.deployment.id } }),
  backfillsCreate: async (s) => ({
    params: { id: s.deployment.id },
    body: { schedule: 'hourly', start: '2024-02-01T00:00:00.000Z', end: '2024-02-01T01:00:00.000Z' },
  }),
  backfillsList: async (s) => ({ params: { id: s.deployment.id } }),
  backfillsGet: async (s) => ({ params: { id: await s.backfill() } }),
  backfillsCancel: async (s) => ({ params: { id: await s.backfill() } }),
  backfillsCreateForAssets: async (s) => ({
    body: { assets: [(await s.assets()).dyn], partitions: { keys: ['first'] } },
  }),
  backfillsListAll: async () => ({}),
  backfillsPause: async (s) => ({ params: { id: await s.backfill() } }),
  backfillsResume: async (s) => ({ params: { id: await s.backfill() } }),
  backfillsRetryFailed: async (s) => ({ params: { id: await s.backfill() } }),
  backfillsPartitions: async (s) => ({ params: { id: await s.backfill() } }),
  authPasswordSignIn: async (s) => ({ body: { email: (await s.person()).email, password: PASSWORD } }),
  authPasswordChange: async (s) => ({
    body: { email: (await s.person()).email, currentPassword: PASSWORD, newPassword: 'a different passphrase' },
  }),
  authPasswordSetup: async (s) => ({ body: { token: (await s.member()).setupToken, password: PASSWORD } }),
  authPasswordReset: async (s) => ({ body: { email: (await s.member()).email } }),
  authPasswordResetConfirm: async (s) => ({ body: { token: await s.resetLink(), password: PASSWORD } }),
  membersList: async () => ({}),
  membersAdd: async (s) => ({ body: { email: `${uniqueName(s.tag)}@example.com`, role: 'viewer' } }),
  membersUpdate: async (s) => ({ params: { userId: (await s.member()).userId }, body: { role: 'runner' } }),
  membersRemove: async (s) => ({ params: { userId: (await s.member()).userId } }),
  membersSetupToken: async (s) => ({ params: { userId: (await s.member()).userId } }),
  authEmailConfirm: async (s) => ({ body: { token: (await s.emailLink()).token, password: PASSWORD } }),
  mailRecipientsConfirm: async (s) => ({ body: { token: await s.recipientLink() } }),
  accountInvitationsList: async (s) => ({ session: await s.verifiedPerson() }),
  accountInvitationsAccept: async (s) => {
    const person = await s.verifiedPerson();
    return { params: { workspaceId: await s.inviteElsewhere(person) }, session: person };
  },
  accountVerificationSend: async (s) => ({ session: await s.managedPerson() }),
  workspacesCreate: async (s) => ({
    body: {
      slug: s.freshSlug(),
      name: 'Made by a person',
    },
    session: await s.verifiedPerson(),
  }),
  organisationsList: async (s) => ({ session: await s.organisationOwner() }),
  organisationsGet: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationsHealth: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationsUpdate: async (s) => ({
    params: { org: await s.organisation() },
    body: { name: 'Renamed organisation' },
    session: await s.organisationOwner(),
  }),
  organisationWorkspacesCreate: async (s) => ({
    params: { org: await s.organisation() },
    body: { slug: s.freshSlug() },
    session: await s.organisationOwner(),
  }),
  organisationWorkspacesUpdate: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.organisationWorkspace() },
    body: { name: 'Renamed workspace' },
    session: await s.organisationOwner(),
  }),
  organisationWorkspacesArchive: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.organisationWorkspace() },
    session: await s.organisationOwner(),
  }),
  organisationWorkspacesRestore: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.organisationWorkspace(true) },
    session: await s.organisationOwner(),
  }),
  organisationMembersList: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationMembersUpdate: async (s) => ({
    params: { org: await s.organisation(), userId: (await s.member()).userId },
    body: { role: 'auditor' },
    session: await s.organisationOwner(),
  }),
  organisationMembersRemove: async (s) => ({
    params: { org: await s.organisation(), userId: (await s.member()).userId },
    session: await s.organisationOwner(),
  }),
  organisationWorkspaceMembersPut: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.organisationWorkspace(), userId: (await s.member()).userId },
    body: { role: 'runner' },
    session: await s.organisationOwner(),
  }),
  organisationWorkspaceMembersRemove: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.slug(), userId: (await s.member()).userId },
    session: await s.organisationOwner(),
  }),
  authSessionSwitch: async (s) => ({
    body: { workspace: await s.organisationWorkspace() },
    session: await s.organisationOwner(),
  }),
  organisationWorkspaceQuotasList: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.organisationWorkspace() },
    session: await s.organisationOwner(),
  }),
  organisationWorkspaceQuotasPut: async (s) => ({
    params: { org: await s.organisation(), workspace: await s.organisationWorkspace(), name: 'webhooks' },
    body: { limit: 10 },
    session: await s.organisationOwner(),
  }),
  organisationGroupsList: async (s) => {
    await s.directoryGroup();
    return { params: { org: await s.organisation() }, session: await s.organisationOwner() };
  },
  organisationGroupGet: async (s) => ({
    params: { org: await s.organisation(), id: await s.directoryGroup() },
    session: await s.organisationOwner(),
  }),
  organisationGroupMembersList: async (s) => ({
    params: { org: await s.organisation(), id: await s.directoryGroup() },
    session: await s.organisationOwner(),
  }),
  organisationGroupRolesPut: async (s) => ({
    params: { org: await s.organisation(), id: await s.directoryGroup() },
    body: { roles: [{ workspace: await s.organisationWorkspace(), role: 'viewer' }] },
    session: await s.organisationOwner(),
  }),
  organisationDirectoryUserDelete: async (s) => ({
    params: { org: await s.organisation(), userId: await s.scimUser() },
    session: await s.organisationOwner(),
  }),
  organisationSsoGet: async (s) => {
    await s.organisationSso();
    return { params: { org: await s.organisation() }, session: await s.organisationOwner() };
  },
  organisationSsoPut: async (s) => ({
    params: { org: await s.organisation() },
    body: { issuer: 'https://idp.example.com', clientId: `${s.tag}-client`, allowedDomains: ['example.com'] },
    session: await s.organisationOwner(),
  }),
  // Proving a domain already proven looks nothing up: the route's access is what the matrix checks.
  organisationSsoDomainVerify: async (s) => {
    await s.organisationSso();
    const domain = `d${randomUUID().slice(0, 8)}.example.com`;
    await s.server.sql`
      INSERT INTO organisation_domains (organisation_id, domain, token, verified_at)
      SELECT organisation_id, ${domain}, 'proven', now() FROM workspaces WHERE id = ${s.ws.workspaceId}`;
    return { params: { org: await s.organisation(), domain }, session: await s.organisationOwner() };
  },
  organisationSsoDelete: async (s) => {
    await s.organisationSso();
    return { params: { org: await s.organisation() }, session: await s.organisationOwner() };
  },
  organisationTokensList: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationTokensCreate: async (s) => ({
    params: { org: await s.organisation() },
    body: { name: uniqueName('siem'), scopes: ['audit:read'] },
    session: await s.organisationOwner(),
  }),
  organisationTokensRevoke: async (s) => ({
    params: { org: await s.organisation(), id: (await s.organisationToken()).id },
    session: await s.organisationOwner(),
  }),
  organisationAuditExport: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationAuditHeads: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationUsage: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  organisationUsageExport: async (s) => ({ params: { org: await s.organisation() }, session: await s.organisationOwner() }),
  // The directory (SCIM): an organisation token with the scim scope, and nothing else, calls these.
  scimUsersList: async (s) => directory(s),
  scimUsersCreate: async (s) => directory(s, {}, { schemas: [SCIM_SCHEMAS.user], userName: `${uniqueName(s.tag)}@example.com` }),
  scimUsersGet: async (s) => directory(s, { id: await s.scimUser() }),
  scimUsersReplace: async (s) =>
    directory(s, { id: await s.scimUser() }, { schemas: [SCIM_SCHEMAS.user], userName: `${uniqueName(s.tag)}@example.com` }),
  scimUsersPatch: async (s) =>
    directory(s, { id: await s.scimUser() }, { Operations: [{ op: 'replace', path: 'displayName', value: 'Patched' }] }),
  scimUsersDelete: async (s) => directory(s, { id: await s.scimUser() }),
  scimGroupsList: async (s) => directory(s),
  scimGroupsCreate: async (s) => directory(s, {}, { schemas: [SCIM_SCHEMAS.group], displayName: uniqueName(s.tag) }),
  scimGroupsGet: async (s) => directory(s, { id: await s.scimGroup() }),
  scimGroupsReplace: async (s) =>
    directory(s, { id: await s.scimGroup() }, { schemas: [SCIM_SCHEMAS.group], displayName: uniqueName(s.tag), members: [] }),
  scimGroupsPatch: async (s) =>
    directory(s, { id: await s.scimGroup() }, { Operations: [{ op: 'replace', path: 'displayName', value: uniqueName(s.tag) }] }),
  scimGroupsDelete: async (s) => directory(s, { id: await s.scimGroup() }),
  scimServiceProviderConfig: async (s) => directory(s),
  scimResourceTypesList: async (s) => directory(s),
  scimResourceTypesGet: async (s) => directory(s, { id: 'User' }),
  scimSchemasList: async (s) => directory(s),
  scimSchemasGet: async (s) => directory(s, { id: SCIM_SCHEMAS.group }),
  quotasList: async () => ({}),
  oidcConfigGet: async (s) => {
    await s.oidc();
    return {};
  },
  oidcConfigPut: async () => ({ body: { issuer: 'https://idp.example.com', clientId: 'outpost' } }),
  oidcConfigDelete: async (s) => {
    await s.oidc();
    return {};
  },
  auditLogList: async () => ({}),
  auditLogExport: async () => ({}),
  auditLogHead: async () => ({}),
  openApiDocument: async () => ({}),
  apiDocs: async () => ({}),
  apiDocsScript: async () => ({}),
  jwks: async () => ({}),
  // The operator's token is no caller of the matrix: the suites send it where they test the route.
  metrics: async () => ({}),
  oidcSignInStart: async (s) => ({ params: { workspace: (await s.sso()).split('/').at(-2) ?? '' } }),
  oidcSignInCallback: async (s) => s.oidcCallback(),
  organisationSignInStart: async (s) => ({ params: { org: (await s.organisationSso()).split('/').at(-2) ?? '' } }),
  assetsList: async () => ({}),
  assetsGet: async (s) => ({ query: { key: (await s.assets()).a } }),
  assetsLineage: async () => ({}),
  assetsMaterializations: async (s) => ({ query: { key: (await s.assets()).a } }),
  assetsMaterializationLineage: async (s) => ({ query: { key: (await s.assets()).a } }),
  assetsPartitions: async (s) => ({ query: { key: (await s.assets()).dyn } }),
  assetsCheckResults: async (s) => ({ query: { key: (await s.assets()).a } }),
  assetsEvaluations: async (s) => ({ query: { key: (await s.assets()).a } }),
  // `a` itself may always be materialised again, its own failed check notwithstanding.
  assetsMaterialize: async (s) => ({ body: { assets: [(await s.assets()).a] } }),
  assetsWaive: async (s) => {
    const names = await s.assets();
    return { body: { assetKey: names.a, checkName: names.check, reason: 'the security suite waives it' } };
  },
  assetEventsReport: async (s, c) => {
    const { run: r, bearer, names } = await s.assetRunFor(c);
    return {
      params: run(r.id),
      bearer,
      body: {
        attempt: 1,
        events: [
          {
            kind: 'materialization',
            id: randomUUID(),
            assetKey: names.b,
            partitionKey: null,
            codeVersion: 'v1',
            dataVersion: null,
            durationMs: 1,
          },
        ],
      },
    };
  },
  assetGate: async (s, c) => {
    const { run: r, bearer } = await s.assetRunFor(c);
    return { params: run(r.id), bearer };
  },
  flowRunWaitsCreate: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c, { running: true });
    return { params: run(r.id), bearer, body: { key: uniqueName('wait'), spec: { kind: 'approval', title: 'Go' } } };
  },
  flowRunSuspend: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c, { running: true });
    return { params: run(r.id), bearer, body: { waitId: await approvalWait(s, r), results: [] } };
  },
  flowRunReplay: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c);
    return { params: run(r.id), bearer };
  },
  waitsList: async () => ({ query: { status: 'WAITING', kind: 'approval' } }),
  waitsGet: async (s, c) => {
    const { run: r, bearer } = await s.runFor(c, { running: true });
    return { params: { id: await approvalWait(s, r) }, bearer };
  },
  waitsDecide: async (s, c) => {
    const { run: r } = await s.runFor(c, { running: true });
    return { params: { id: await approvalWait(s, r) }, body: { approved: false, comment: 'not now' } };
  },
  waitTokensComplete: async (s) => {
    // Only a token some wait asked for can be completed: a token wait of the scene, its token made by the API.
    const held = await s.held(undefined, { running: true });
    const res = await client(s.server, held.token)('POST', `/flow-runs/${held.id}/waits`, {
      body: { key: uniqueName('wait'), spec: { kind: 'token' } },
    });
    if (res.status !== 200) throw new Error(`token wait not created: ${res.status} ${res.text}`);
    return { params: { token: res.body.wait.spec.token }, body: { value: { ok: true } } };
  },
  dynamicPartitionsList: async (s) => ({ params: { name: (await s.assets()).set } }),
  dynamicPartitionsAdd: async (s) => ({ params: { name: (await s.assets()).set }, body: { keys: [uniqueName('key')] } }),
  eventsList: async () => ({}),
  eventsStream: async () => ({}),
  eventsEmit: async (s, c) => {
    const bearer = c.kind === 'run_token' ? (await s.runFor(c)).bearer : undefined;
    return { ...(bearer ? { bearer } : {}), body: { events: [{ kind: 'security.checked', payload: { by: c.kind } }] } };
  },
  eventWebhooksCreate: async (s) => ({ body: { name: uniqueName(s.tag), template: { kind: 'security.hook', payload: {} } } }),
  eventWebhooksList: async () => ({}),
  eventWebhooksRotate: async (s) => ({ params: { id: (await s.webhook()).id } }),
  eventWebhooksDelete: async (s) => ({ params: { id: (await s.webhook()).id } }),
  // Whoever calls, the URL token and the body's signature are the credential.
  eventWebhookReceive: async (s) => {
    const hook = await s.webhook();
    const body = { ref: 'main' };
    const signature = `sha256=${createHmac('sha256', hook.secret).update(JSON.stringify(body)).digest('hex')}`;
    return { params: { token: hook.token }, body, headers: { 'x-outpost-signature': signature } };
  },
  dynamicPartitionsDelete: async (s) => {
    const { set } = await s.assets();
    const key = uniqueName('gone');
    await s.owner('POST', `/dynamic-partitions/${set}`, { body: { keys: [key] } });
    return { params: { name: set, key } };
  },
  sensorsList: async () => ({}),
  sensorsGet: async (s) => ({ params: { id: await freshSensor(s) } }),
  sensorsTicks: async (s) => ({ params: { id: await freshSensor(s) } }),
  sensorsPause: async (s) => ({ params: { id: await freshSensor(s) } }),
  sensorsResume: async (s) => ({ params: { id: await freshSensor(s) } }),
  sensorsTickNow: async (s) => ({ params: { id: await freshSensor(s) } }),
  externalPollsClaim: async (s) => ({ params: { pool: s.heldPool }, body: { workerId: randomUUID(), limit: 1 } }),
  externalPollsComplete: async (s, c) => {
    const { waitId, leaseId, workerId } = await claimedPoll(s, c);
    return { params: { pool: s.heldPool, id: waitId }, body: { workerId, leaseId, outcome: { state: 'running' } } };
  },
  sensorTicksClaim: async (s) => ({ params: { pool: await sensorPool(s) }, body: { workerId: randomUUID(), limit: 1 } }),
  sensorTicksComplete: async (s, c) => {
    const { pool, tickId, workerId } = await claimedTick(s, c);
    return {
      params: { pool, id: tickId },
      body: { workerId, outcome: { status: 'ok', result: { runRequests: [], skipReason: 'nothing new' } } },
    };
  },
};

/** A request to the scene's directory (SCIM): its organisation, the token that may call it, and `params` and `body`. */
async function directory(s: Scene, params: Record<string, string> = {}, body?: unknown): Promise<Spec> {
  return {
    params: { org: await s.organisation(), ...params },
    organisationToken: await s.scimToken(),
    ...(body ? { body } : {}),
  };
}

/** Every route of the table that has no fixture (a new route someone must cover). */
export function routesWithoutFixture(): string[] {
  return Object.keys(routes).filter((name) => !(name in FIXTURES) || !FIXTURES[name as RouteName]);
}

export function pathOf(route: RouteDef, params: Record<string, string> = {}): string {
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`the fixture of ${route.path} gives no ${key}`);
    return encodeURIComponent(value);
  });
  return servedPath({ ...route, path });
}

/** Sends a spec to the app in-process; a streaming answer is read up to its status, then dropped. */
export async function send(server: Pick<TestServer, 'app'>, route: RouteDef, spec: Spec, bearer: string | null): Promise<Reply> {
  const headers: Record<string, string> = {};
  const credential = spec.bearer ?? bearer;
  if (spec.session) {
    headers.cookie = spec.session.cookie;
    headers['x-outpost-csrf'] = spec.session.csrf;
  } else if (credential) headers.authorization = `Bearer ${credential}`;
  if (spec.cookie) headers.cookie = spec.cookie;
  Object.assign(headers, spec.headers);
  let body: string | undefined;
  if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers['content-type'] = 'application/json';
  }
  const query = spec.query ? `?${new URLSearchParams(spec.query)}` : '';
  const abort = new AbortController();
  const res = await server.app.request(`${pathOf(route, spec.params)}${query}`, {
    method: route.method,
    headers,
    body,
    signal: abort.signal,
  });
  if (route.stream === 'text/event-stream' && res.ok) {
    abort.abort();
    await res.body?.cancel().catch(() => {});
    return { status: res.status, body: null, headers: res.headers, text: '' };
  }
  return replyOf(res);
}
