import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer, type TestWorkspace } from '../src/testing/index.js';
import { linkIn, TestMailbox } from '../src/testing/mailbox.js';
import { type Call, claim, client, createRun, deploy } from './helpers.js';
import { newEmail, PASSWORD, post, signInPerson } from './users.support.js';

/*
 * The account takeover across workspaces: workspace A's admin creates an account for an address
 * and sets its password; workspace B later adds the same address. A's admin must not reach B as
 * that account — and the address's real owner, once they proved it and accepted, must.
 */

const OWNERS_PASSWORD = 'the owner of the address chose this';

let server: TestServer;
let mailbox: TestMailbox;
let ownerA: Call;
let b: TestWorkspace;
let ownerB: Call;
let slugB: string;
let slugA: string;

beforeAll(async () => {
  mailbox = await TestMailbox.start();
  server = await startTestServer({ loops: false, mail: { smtpUrl: mailbox.url, from: 'Outpost <outpost@example.com>' } });
  ownerA = client(server, server.ownerKey);
  b = await server.createWorkspace();
  ownerB = client(server, b.ownerKey);
  slugB = (await ownerB('GET', '/whoami')).body.workspace.slug;
  slugA = (await ownerA('GET', '/whoami')).body.workspace.slug;
});
afterAll(async () => {
  await server?.close();
  await mailbox?.close();
});

/** A run of B with one log line, written by B's worker through its run token. */
async function runWithLogs(): Promise<string> {
  const deployment = await deploy(ownerB, { flowName: 'secret-etl', name: 'nightly' });
  const run = await createRun(ownerB, deployment.id);
  const [held] = await claim(client(server, await b.createKey('worker')));
  expect(held.flowRun.id).toBe(run.id);
  const wrote = await client(server, held.token)('POST', `/flow-runs/${run.id}/logs`, {
    body: { attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'B confidential line' }] },
  });
  expect(wrote.status, wrote.text).toBe(200);
  return run.id;
}

describe('an account one workspace set up never carries into another', () => {
  test("A's admin cannot reach B's data as the account; the address's owner can once they verified and accepted", async () => {
    const runOfB = await runWithLogs();
    const alice = newEmail('alice');

    // A's admin adds the address (a new account, managed by A) and sets its password with the setup token.
    const inA = await ownerA('POST', '/members', { body: { email: alice, role: 'developer' } });
    expect(inA.status, inA.text).toBe(201);
    expect(inA.body).toMatchObject({ outcome: 'created', email: 'sent' });
    expect(inA.body.member).toMatchObject({ state: 'active', account: 'managed' });
    const adminKnows = 'the admin of A chose this';
    expect((await post(server, '/auth/password/setup', { token: inA.body.setupToken, password: adminKnows })).status).toBe(204);

    // B adds the same address: the account exists, so B invites it; no token, the link goes to the address.
    const seen = mailbox.to(alice).length;
    const inB = await ownerB('POST', '/members', { body: { email: alice, role: 'admin' } });
    expect(inB.status, inB.text).toBe(201);
    expect(inB.body).toMatchObject({ outcome: 'invited', setupToken: null, setupTokenExpiresAt: null, email: 'sent' });
    expect(inB.body.member).toMatchObject({ email: alice, state: 'invited', account: 'unverified', name: null });
    expect(inB.text).not.toMatch(/confirm-email/);
    const userId = inB.body.member.userId;
    // B cannot reset the password of an account it does not manage.
    expect((await ownerB('POST', `/members/${userId}/setup-token`)).status).toBe(409);

    // A's admin, with the password they set: B is refused exactly as a workspace the account is not in.
    const intoB = await post(server, '/auth/password', { email: alice, password: adminKnows, workspace: slugB });
    const intoNowhere = await post(server, '/auth/password', {
      email: alice,
      password: adminKnows,
      workspace: 'not-a-member-here',
    });
    expect(intoB.status).toBe(403);
    expect(intoB.headers.getSetCookie()).toEqual([]);
    expect({ ...intoB.body, requestId: null, instance: null }).toEqual({ ...intoNowhere.body, requestId: null, instance: null });
    // Signed in to A (the one workspace the account can reach), A's admin sees no invitation and cannot accept B's.
    const attacker = await signInPerson(server, alice, adminKnows);
    expect(attacker.reply.body.workspace.id).toBe(server.workspaceId);
    expect((await attacker.call('GET', '/account/invitations')).body).toEqual({ emailVerified: false, items: [] });
    const accept = await attacker.mutate('POST', `/account/invitations/${b.workspaceId}/accept`);
    expect(accept.status).toBe(403);
    expect((await attacker.call('GET', `/flow-runs/${runOfB}`)).status).toBe(404);
    expect((await attacker.call('GET', `/flow-runs/${runOfB}/logs`)).status).toBe(404);
    // Asking for a verification link sends it to the address, not to whoever asked.
    const sent = await attacker.mutate('POST', '/account/verification');
    expect(sent.status, sent.text).toBe(202);
    expect(sent.text).not.toMatch(/token=/);

    // The owner of the address opens the invitation that reached their mailbox.
    const invitation = await mailbox.next(alice, { since: seen });
    expect(invitation.subject).toContain('invited');
    const { token } = linkIn(invitation);
    // An account set up by an admin must get a password the admin does not know.
    const keep = await post(server, '/auth/email/confirm', { token });
    expect(keep.status).toBe(400);
    expect(keep.body.errors[0].path).toBe('body.password');
    const confirmed = await post(server, '/auth/email/confirm', { token, password: OWNERS_PASSWORD });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body).toMatchObject({ email: alice, passwordSet: true, joined: { id: b.workspaceId, slug: slugB } });
    expect((await post(server, '/auth/email/confirm', { token, password: OWNERS_PASSWORD })).status).toBe(401);

    // A's admin is out: their session ended, their password is gone, and A can no longer reset it.
    expect((await attacker.call('GET', '/whoami')).status).toBe(401);
    expect((await post(server, '/auth/password', { email: alice, password: adminKnows, workspace: slugB })).status).toBe(401);
    expect((await ownerA('POST', `/members/${userId}/setup-token`)).status).toBe(409);

    // The owner signs in to B with B's role and reads B's runs and logs.
    const owner = await signInPerson(server, alice, OWNERS_PASSWORD, slugB);
    expect(owner.reply.body.principal).toMatchObject({ kind: 'session', role: 'admin' });
    expect((await owner.call('GET', `/flow-runs/${runOfB}`)).status).toBe(200);
    const logs = await owner.call('GET', `/flow-runs/${runOfB}/logs`);
    expect(logs.body.items.map((l: { message: string }) => l.message)).toEqual(['B confidential line']);
    const listed = (await ownerB('GET', '/members')).body.items.find((m: { userId: string }) => m.userId === userId);
    expect(listed).toMatchObject({ state: 'active', account: 'verified', hasPassword: true });
    // A added the address before its person proved it: A's membership is only an invitation now,
    // showing A's admin nothing of the account, and it reaches B alone until its person accepts A's.
    const inAnow = (await ownerA('GET', '/members')).body.items.find((m: { userId: string }) => m.userId === userId);
    expect(inAnow).toMatchObject({ state: 'invited', account: 'verified', name: null, hasPassword: false, sso: false });
    expect((await post(server, '/auth/password', { email: alice, password: OWNERS_PASSWORD, workspace: slugA })).status).toBe(
      403,
    );
    const onlyB = await post(server, '/auth/password', { email: alice, password: OWNERS_PASSWORD });
    expect(onlyB.status, onlyB.text).toBe(200);
    expect(onlyB.body.workspace.id).toBe(b.workspaceId);
    expect((await owner.call('GET', '/account/invitations')).body.items).toEqual([
      expect.objectContaining({ workspace: expect.objectContaining({ id: server.workspaceId }), role: 'developer' }),
    ]);
    const rejoined = await owner.mutate('POST', `/account/invitations/${server.workspaceId}/accept`);
    expect(rejoined.status, rejoined.text).toBe(200);
    expect(rejoined.body).toMatchObject({ workspace: { id: server.workspaceId }, role: 'developer' });
    // The account reaches two workspaces now, so a sign-in names one.
    expect((await post(server, '/auth/password', { email: alice, password: OWNERS_PASSWORD })).status).toBe(400);

    // B's audit log holds the invitation and its acceptance; A's says nothing of B.
    const auditB = await ownerB('GET', `/audit-log?objectId=${userId}`);
    expect(auditB.body.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['membersAdd', 'accountInvitationsAccept']),
    );
    const auditA = await ownerA('GET', `/audit-log?objectId=${userId}&limit=200`);
    expect(JSON.stringify(auditA.body)).not.toContain(b.workspaceId);
    expect(JSON.stringify(auditA.body)).not.toContain(slugB);
    // No link or token reached either log.
    expect(JSON.stringify(auditA.body) + JSON.stringify(auditB.body)).not.toContain(token);
  });

  test('an invitation grants nothing until a signed-in person with a verified address accepts it', async () => {
    const carol = newEmail('carol');
    const seen = mailbox.to(carol).length;
    // A new account in A; its person confirms the address through the mail A's addition sent.
    await ownerA('POST', '/members', { body: { email: carol, role: 'viewer' } });
    const welcome = await mailbox.next(carol, { since: seen });
    expect(welcome.subject).toContain('added');
    expect(
      (await post(server, '/auth/email/confirm', { token: linkIn(welcome).token, password: OWNERS_PASSWORD })).body,
    ).toMatchObject({ passwordSet: true, joined: null });

    const invited = await ownerB('POST', '/members', { body: { email: carol, role: 'runner' } });
    expect(invited.body).toMatchObject({ outcome: 'invited', member: { state: 'invited', account: 'verified' } });
    // Before accepting: no session in B, and nothing of B through a session elsewhere.
    expect((await post(server, '/auth/password', { email: carol, password: OWNERS_PASSWORD, workspace: slugB })).status).toBe(
      403,
    );
    const inA = await signInPerson(server, carol, OWNERS_PASSWORD);
    expect(inA.reply.body.workspace.id).toBe(server.workspaceId);
    const invitations = await inA.call('GET', '/account/invitations');
    expect(invitations.body).toMatchObject({
      emailVerified: true,
      items: [{ workspace: { id: b.workspaceId, slug: slugB }, role: 'runner' }],
    });
    // An API key has no account to accept with; another workspace's id is a 404 like a missing one.
    expect((await ownerA('POST', `/account/invitations/${b.workspaceId}/accept`)).status).toBe(403);
    const other = await server.createWorkspace();
    const foreign = await inA.mutate('POST', `/account/invitations/${other.workspaceId}/accept`);
    const missing = await inA.mutate('POST', '/account/invitations/00000000-0000-4000-8000-000000000000/accept');
    expect(foreign.status).toBe(404);
    expect({ ...foreign.body, requestId: null, instance: null }).toEqual({ ...missing.body, requestId: null, instance: null });

    const accepted = await inA.mutate('POST', `/account/invitations/${b.workspaceId}/accept`);
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toMatchObject({ workspace: { id: b.workspaceId }, role: 'runner' });
    expect((await inA.call('GET', '/account/invitations')).body.items).toEqual([]);
    expect((await inA.mutate('POST', `/account/invitations/${b.workspaceId}/accept`)).status).toBe(404);
    expect((await signInPerson(server, carol, OWNERS_PASSWORD, slugB)).reply.body.principal.role).toBe('runner');
    // The link the invitation mailed no longer accepts anything.
    const mailed = mailbox.to(carol).at(-1);
    expect(mailed?.subject).toContain('invited');
    expect((await post(server, '/auth/email/confirm', { token: linkIn(mailed as never).token })).status).toBe(401);
  });

  test('removing an account the workspace manages lets it go: whoever adds the address next starts afresh', async () => {
    const dave = newEmail('dave');
    const added = await ownerA('POST', '/members', { body: { email: dave, role: 'viewer' } });
    await post(server, '/auth/password/setup', { token: added.body.setupToken, password: 'set by the admin of A' });
    expect((await ownerA('DELETE', `/members/${added.body.member.userId}`)).status).toBe(204);
    // Nobody manages or verified the account now: B takes it as new, and A's password is gone.
    const inB = await ownerB('POST', '/members', { body: { email: dave, role: 'viewer' } });
    expect(inB.body).toMatchObject({ outcome: 'created', member: { account: 'managed', hasPassword: false } });
    expect((await post(server, '/auth/password', { email: dave, password: 'set by the admin of A' })).status).toBe(401);
    // A, adding it again, now invites it.
    expect((await ownerA('POST', '/members', { body: { email: dave, role: 'viewer' } })).body.outcome).toBe('invited');
  });
});

describe('without an email server', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer({ loops: false });
  });
  afterAll(async () => {
    await plain?.close();
  });

  test('adding an existing account says the link must be handed over some other way, and shows it to no admin', async () => {
    const ownerHere = client(plain, plain.ownerKey);
    const other = await plain.createWorkspace();
    const email = newEmail('erin');
    const created = await ownerHere('POST', '/members', { body: { email, role: 'viewer' } });
    expect(created.body).toMatchObject({ outcome: 'created', email: 'not_configured' });
    // The admin of the managing workspace gets the setup link: the account reaches their workspace only.
    expect(created.body.setupToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.body.message).toMatch(/No email server is configured/);
    expect(created.body.message).toMatch(/hand them the setup link yourself/);

    const invited = await client(plain, other.ownerKey)('POST', '/members', { body: { email, role: 'viewer' } });
    expect(invited.body).toMatchObject({ outcome: 'invited', email: 'not_configured', setupToken: null });
    expect(invited.body.message).toMatch(/No email server is configured/);
    expect(invited.body.message).toMatch(/some other way/);
    // No link was made at all: there was nobody it could safely be given to.
    const [row] = await plain.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM email_tokens`;
    expect(row?.n).toBe(0);
    await post(plain, '/auth/password/setup', { token: created.body.setupToken, password: PASSWORD });
    const person = await signInPerson(plain, email);
    const asked = await person.mutate('POST', '/account/verification');
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ email: 'not_configured', message: expect.stringMatching(/No email server/) });
  });
});
