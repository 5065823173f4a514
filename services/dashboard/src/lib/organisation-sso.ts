import {
  type GroupRole,
  type OrganisationSso,
  OrganisationSsoRequest,
  SSO_GROUP_ROLES_MAX,
  type SsoGroupRole,
} from '@outpost/sdk/contracts';
import type { ApiFailure } from '../api/client.js';
import type { GroupWorkspace } from './group-roles.js';

/** Where the provider sends people back, the same for every provider of the server; the API reports its public address once set up. */
const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

/** The claim an ID token lists groups in unless the organisation names another. */
export const DEFAULT_GROUPS_CLAIM = 'groups';

/** The redirect URI to register at the provider, before the API has said it: the callback at the origin the browser reached. */
export function callbackUri(origin: string): string {
  return `${origin.replace(/\/+$/, '')}${CALLBACK_PATH}`;
}

/** The link people of the organisation sign in with: the server's own origin (the redirect URI's) and the API's sign-in path. */
export function signInLink(sso: Pick<OrganisationSso, 'redirectUri' | 'signInPath'>): string {
  return `${new URL(sso.redirectUri).origin}${sso.signInPath}`;
}

/** Comma- or space-separated domains as the API takes them: trimmed, lower-case, without `@` or duplicates. */
export function parseDomains(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((d) => d.trim().toLowerCase().replace(/^@/, ''))
        .filter(Boolean),
    ),
  ];
}

// ---- the provider's settings ---------------------------------------------------------------------

/** The provider and its client as typed, alike in a workspace's and an organisation's single sign-on. */
export interface ClientDraft {
  issuer: string;
  clientId: string;
  /** Blank keeps the stored secret. */
  secret: string;
  publicClient: boolean;
}

/** What a person most often gets wrong about the provider and its client, in words, by field. */
export function clientErrors(draft: ClientDraft, hasStoredSecret: boolean): FieldErrors {
  const errors: FieldErrors = {};
  if (!/^https?:\/\/\S+$/.test(draft.issuer.trim()))
    errors.issuer = ['enter the provider’s issuer URL, e.g. https://login.example.com'];
  if (!draft.clientId.trim()) errors.clientId = ['enter the ID the provider gave this application'];
  if (!draft.publicClient && !draft.secret && !hasStoredSecret) {
    errors.clientSecret = ['enter it, or mark the client as public if the provider issued none'];
  }
  return errors;
}

/** The client secret as a request carries it: none for a public client, else the one typed; a change that leaves it blank keeps the stored one. */
export function clientSecretField(draft: ClientDraft): { clientSecret?: string | null } {
  return draft.publicClient ? { clientSecret: null } : draft.secret ? { clientSecret: draft.secret } : {};
}

/** The settings form as typed. */
export interface SettingsDraft extends ClientDraft {
  domains: string;
  groupsClaim: string;
}

/** The form's fields, as the body names them and as its errors are placed. */
export type SettingsField = 'issuer' | 'clientId' | 'clientSecret' | 'allowedDomains' | 'groupsClaim';

/** The form as it opens: what is configured, or blank with the default claim for a first set-up. */
export function settingsDraft(current: OrganisationSso | null): SettingsDraft {
  return {
    issuer: current?.issuer ?? '',
    clientId: current?.clientId ?? '',
    secret: '',
    publicClient: current ? !current.hasClientSecret : false,
    domains: current?.allowedDomains.join(', ') ?? '',
    groupsClaim: current?.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
  };
}

/** A field's errors, by field; what a check of the form or a refusal says. */
export type FieldErrors = Partial<Record<string, string[]>>;

/**
 * The body the form sends, without a mapping (omitted, the API keeps it), or what is wrong with it,
 * by field: first what a person most often gets wrong, in words, then anything else the contract
 * refuses (a domain that is not one, a claim name with spaces), as the API would say it.
 */
export function settingsRequest(
  draft: SettingsDraft,
  current: Pick<OrganisationSso, 'hasClientSecret' | 'updatedAt'> | null,
): { ok: true; body: OrganisationSsoRequest } | { ok: false; errors: FieldErrors } {
  const errors = clientErrors(draft, current?.hasClientSecret ?? false);
  const issuer = draft.issuer.trim();
  const clientId = draft.clientId.trim();
  const allowedDomains = parseDomains(draft.domains);
  if (allowedDomains.length === 0) {
    errors.allowedDomains = ['name the email domains of the organisation’s people, e.g. example.com'];
  }
  const body: OrganisationSsoRequest = {
    issuer,
    clientId,
    allowedDomains,
    groupsClaim: draft.groupsClaim.trim() || DEFAULT_GROUPS_CLAIM,
    ...clientSecretField(draft),
    // Made from the settings as loaded: if another owner changed them meanwhile, the API says so.
    ...(current ? { expectedUpdatedAt: current.updatedAt } : {}),
  };
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const parsed = OrganisationSsoRequest.safeParse(body);
  if (!parsed.success) {
    const placed = placeErrors(
      parsed.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message })),
      body,
    );
    return { ok: false, errors: { ...placed.fields, ...(placed.other.length > 0 ? { form: placed.other } : {}) } };
  }
  return { ok: true, body: parsed.data };
}

// ---- the mapping of groups to roles --------------------------------------------------------------

/** One row of the mapping editor; `id` keeps a row's inputs and errors together as rows come and go. */
export interface MappingRow {
  id: number;
  group: string;
  /** A workspace slug; blank until one is chosen. */
  workspace: string;
  role: GroupRole;
}

/** A row's errors, by the control they are about (`row` for the row as a whole). */
export type RowErrors = Partial<Record<'group' | 'workspace' | 'role' | 'row', string[]>>;

/** The rows the editor starts with: one per grant, in the API's order (by group, then workspace). */
export function mappingRows(roles: readonly SsoGroupRole[]): MappingRow[] {
  return roles.map((r, id) => ({ id, group: r.group, workspace: r.workspace, role: r.role }));
}

/** The rows with a new, empty one at the end: no workspace chosen, and the weakest role. */
export function addMappingRow(rows: readonly MappingRow[]): MappingRow[] {
  const id = rows.reduce((max, r) => Math.max(max, r.id), -1) + 1;
  return [...rows, { id, group: '', workspace: '', role: 'viewer' }];
}

/**
 * The grants the rows make. A group's value is trimmed: values are names or object ids, and space at
 * either end comes from pasting them, where it would make a grant no token ever matches.
 */
export function mappingGrants(rows: readonly MappingRow[]): SsoGroupRole[] {
  return rows.map((r) => ({ group: r.group.trim(), workspace: r.workspace, role: r.role }));
}

/**
 * The whole request a save of the mapping sends: the provider as configured (the secret omitted, so
 * kept), the time those settings were read, and the rows' grants, which replace the mapping.
 */
export function mappingRequest(
  current: Pick<OrganisationSso, 'issuer' | 'clientId' | 'allowedDomains' | 'groupsClaim' | 'updatedAt'>,
  rows: readonly MappingRow[],
): OrganisationSsoRequest {
  return {
    issuer: current.issuer,
    clientId: current.clientId,
    allowedDomains: [...current.allowedDomains],
    groupsClaim: current.groupsClaim,
    // A stale page must not put back a provider another owner replaced: the API refuses it (409).
    expectedUpdatedAt: current.updatedAt,
    groupRoles: mappingGrants(rows),
  };
}

/** Whether the rows grant exactly what is saved, whatever their order. */
export function sameMapping(rows: readonly MappingRow[], saved: readonly SsoGroupRole[]): boolean {
  const key = (r: SsoGroupRole) => JSON.stringify([r.group, r.workspace, r.role]);
  const grants = mappingGrants(rows).map(key).sort();
  const stored = saved.map(key).sort();
  return grants.length === stored.length && grants.every((k, i) => k === stored[i]);
}

/**
 * What is wrong with the rows before anything is sent, by row id: a blank group or workspace, and a
 * second grant of one group in one workspace, on the later row as the API places it.
 */
export function checkMapping(rows: readonly MappingRow[]): { rows: Record<number, RowErrors>; other: string[] } {
  const placed: Record<number, RowErrors> = {};
  const add = (id: number, field: keyof RowErrors, message: string) => {
    const errors = placed[id] ?? {};
    errors[field] = [...(errors[field] ?? []), message];
    placed[id] = errors;
  };
  const seen = new Set<string>();
  for (const row of rows) {
    const group = row.group.trim();
    if (!group) add(row.id, 'group', 'enter the value the groups claim lists, e.g. ml-platform');
    if (!row.workspace) add(row.id, 'workspace', 'choose a workspace');
    if (!group || !row.workspace) continue;
    const key = JSON.stringify([group, row.workspace]);
    if (seen.has(key)) add(row.id, 'workspace', `the group "${group}" is given a role in "${row.workspace}" more than once`);
    seen.add(key);
  }
  const other = rows.length > SSO_GROUP_ROLES_MAX ? [`the mapping holds at most ${SSO_GROUP_ROLES_MAX} grants; remove some`] : [];
  return { rows: placed, other };
}

/** The field errors a refusal carries; none for a failure that is not a refusal. */
export function problemErrors(failure: ApiFailure): { path: string; message: string }[] {
  return failure.kind === 'http_error' ? (failure.problem?.errors ?? []) : [];
}

/** A refusal's errors, placed: under a field of the settings form, under a row of the mapping, or for the whole. */
export interface PlacedErrors {
  fields: FieldErrors;
  rows: Record<number, RowErrors>;
  other: string[];
}

const ROW_FIELDS = new Set(['group', 'workspace', 'role']);

/**
 * Places each error by its path (`body.groupRoles.3.workspace`, `/body/groupRoles/3/workspace`,
 * `body.groupRoles[3].role`): a grant's errors under the row that made it (the rows in the order
 * sent), a domain's under the domains field naming the domain, a field's under that field; any
 * other, such as one about a grant no row made, for the form as a whole with its path.
 */
export function placeErrors(
  errors: readonly { path: string; message: string }[],
  sent: OrganisationSsoRequest,
  rows: readonly MappingRow[] = [],
): PlacedErrors {
  const placed: PlacedErrors = { fields: {}, rows: {}, other: [] };
  for (const e of errors) {
    const path = e.path.replace(/^\/?body(?:[./]|$)/, '');
    const parts = path.split(/[./[\]]+/).filter(Boolean);
    const [field, index, inner] = parts;
    if (field === 'groupRoles' && index !== undefined && /^\d+$/.test(index)) {
      const row = rows[Number(index)];
      if (row) {
        const at: keyof RowErrors = inner && ROW_FIELDS.has(inner) ? (inner as keyof RowErrors) : 'row';
        const rowErrors = placed.rows[row.id] ?? {};
        rowErrors[at] = [...(rowErrors[at] ?? []), e.message];
        placed.rows[row.id] = rowErrors;
        continue;
      }
    }
    if (field === 'allowedDomains' && index !== undefined && /^\d+$/.test(index)) {
      const domain = sent.allowedDomains[Number(index)];
      placed.fields.allowedDomains = [...(placed.fields.allowedDomains ?? []), domain ? `${domain}: ${e.message}` : e.message];
      continue;
    }
    if (field && parts.length === 1 && field !== 'groupRoles') {
      placed.fields[field] = [...(placed.fields[field] ?? []), e.message];
      continue;
    }
    placed.other.push(path ? `${path}: ${e.message}` : e.message);
  }
  return placed;
}

/** The workspaces a row can name: the organisation's, then any a saved grant names that the list lacks. */
export function workspaceChoices(
  workspaces: readonly GroupWorkspace[],
  rows: readonly MappingRow[],
): { slug: string; label: string }[] {
  const choices = workspaces.map((w) => ({
    slug: w.slug,
    label: w.archivedAt ? `${w.slug} (archived)` : w.slug,
  }));
  const listed = new Set(workspaces.map((w) => w.slug));
  for (const row of rows) {
    if (!row.workspace || listed.has(row.workspace)) continue;
    listed.add(row.workspace);
    choices.push({ slug: row.workspace, label: `${row.workspace} (not a workspace of the organisation)` });
  }
  return choices;
}

function listText(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** What a save of the mapping left it granting, in a sentence for the status line. */
export function mappingSavedText(roles: readonly SsoGroupRole[]): string {
  if (roles.length === 0) return 'Saved: the groups claim grants no workspace role.';
  const byGroup = new Map<string, string[]>();
  for (const r of roles) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), `${r.role} in ${r.workspace}`]);
  const sentences = [...byGroup].map(([group, grants]) => `${group} grants ${listText(grants)}`);
  return `Saved: ${sentences.join('; ')}. It applies at once to everyone who signed in through the organisation.`;
}

/**
 * What a save of the provider's settings did, in a sentence for the section's status line: after a
 * first set-up what is left to do, and for any domain not yet proven, that it signs nobody in yet.
 */
export function settingsSavedText(sso: Pick<OrganisationSso, 'domains'>, first: boolean): string {
  const unproven = sso.domains.filter((d) => !d.verified).map((d) => d.domain);
  const one = unproven.length === 1;
  const prove =
    unproven.length === 0
      ? ''
      : ` Publish the TXT record of ${listText(unproven)} and verify ${one ? 'it' : 'them'}: until then nobody at ${one ? 'that domain' : 'those domains'} signs in.`;
  return first
    ? `Saved.${prove} Map the groups of the ID token to workspace roles below.`
    : `Saved the provider; the mapping of groups is unchanged.${prove}`;
}
