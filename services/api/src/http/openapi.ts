import { JsonValue, Problem, type RouteDef, routes, ScimError, servedPath } from '@outpost/sdk/contracts';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/**
 * Schemas a route's schema refers to (zod puts a recursive one, such as a JSON value, in `$defs`),
 * moved to `components.schemas` once each: inside an OpenAPI document a `#/$defs/…` reference
 * would point at the document's root, where there is none.
 */
class SharedSchemas {
  readonly components: Record<string, JsonSchema> = {};
  readonly #names = new Map<string, string>();

  /** `known`: schemas with a name of their own, and how the document writes them. */
  constructor(private readonly known: ReadonlyArray<{ name: string; type: z.ZodType; schema: JsonSchema }>) {}

  /** `schema` with its `$defs` moved to the components and its references pointed there. */
  hoist(schema: JsonSchema): JsonSchema {
    const { $defs, ...rest } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> };
    if (!$defs) return schema;
    const renamed = new Map<string, string>();
    for (const [local, def] of Object.entries($defs)) renamed.set(local, this.#nameFor(local, def));
    const retarget = (value: JsonSchema): JsonSchema =>
      JSON.parse(
        JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_, local: string) =>
          JSON.stringify(`#/components/schemas/${renamed.get(local) ?? local}`),
        ),
      ) as JsonSchema;
    for (const [local, def] of Object.entries($defs)) {
      const name = renamed.get(local) as string;
      this.components[name] ??= this.known.find((known) => known.name === name)?.schema ?? retarget(def);
    }
    return retarget(rest);
  }

  /** One name per distinct schema: a known one's (JsonValue), or the next free `SchemaN`. */
  #nameFor(local: string, def: JsonSchema): string {
    const shape = JSON.stringify(def).replaceAll(`"#/$defs/${local}"`, '"#"');
    let name = this.#names.get(shape);
    if (name) return name;
    name = this.known.find((known) => shapeOf(known.type) === shape)?.name ?? `Schema${this.#names.size + 1}`;
    this.#names.set(shape, name);
    return name;
  }
}

/** The `$defs` entry zod makes of a recursive schema, its self-references written `#`. */
function shapeOf(type: z.ZodType): string | null {
  const { $defs } = z.toJSONSchema(z.object({ value: type }), { unrepresentable: 'any', target: 'draft-2020-12' }) as {
    $defs?: Record<string, JsonSchema>;
  };
  const [local, def] = Object.entries($defs ?? {})[0] ?? [];
  return local && def ? JSON.stringify(def).replaceAll(`"#/$defs/${local}"`, '"#"') : null;
}

function schemaOf(type: z.ZodType, io: 'input' | 'output', shared: SharedSchemas): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(type, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  return shared.hoist(schema);
}

/** Tag names that are not the path segment written out. */
const TAG_NAMES: Record<string, string> = {
  '.well-known': 'Documents',
  'openapi.json': 'Documents',
  docs: 'Documents',
  'api-keys': 'API keys',
  auth: 'Sign-in',
  sso: 'Single sign-on',
  whoami: 'Account',
  queues: 'Work queues',
};

/** Resources that live under another's path but are resources of their own (`/flow-runs/:id/task-runs`). */
const NESTED_RESOURCES = new Set(['task-runs', 'logs', 'artifacts', 'workers', 'queues', 'schedules', 'backfills', 'child-runs']);

/**
 * The resource a route belongs to, from its path: the last nested resource it names, else its
 * first segment (`/flow-runs/:id/task-runs/batch` → "Task runs", `/work-pools/:pool` → "Work pools").
 */
export function tagOf(route: Pick<RouteDef, 'path' | 'root'>): string {
  const segments = (route.root ? route.path.replace(/^\/api\//, '/') : route.path).split('/').filter(Boolean);
  const nested = segments.slice(1).filter((segment) => NESTED_RESOURCES.has(segment));
  const segment = nested.at(-1) ?? segments[0] ?? '';
  const named = TAG_NAMES[segment];
  if (named) return named;
  const words = segment.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query', shared: SharedSchemas): JsonSchema[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input', shared) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
/** The directory's routes (SCIM) answer errors as SCIM does (RFC 7644 §3.12), never as problems. */
const scimErrorContent = { 'application/scim+json': { schema: { $ref: '#/components/schemas/ScimError' } } };
const isScim = (route: RouteDef) => route.produces === 'application/scim+json';

/** Who may call it, as OpenAPI says it: nobody in particular, the operator's token, or the API's credentials. */
function security(route: RouteDef): JsonSchema {
  if (route.access.anonymous) return { security: [] };
  if (route.access.operator) return { security: [{ metrics: [] }] };
  if (route.access.organisationTokenOnly) return { security: [{ organisationToken: [] }] };
  return {};
}

/** A success as OpenAPI says it: no body (204), a redirect, a stream (the schema of each event's data, each NDJSON line), or one document. */
function success(route: RouteDef, shared: SharedSchemas): JsonSchema {
  if (route.produces === 'redirect') {
    return { description: route.summary, headers: { location: { required: true, schema: { type: 'string' } } } };
  }
  if (route.status === 204) return { description: route.summary };
  const type = route.stream ?? route.produces ?? 'application/json';
  return { description: route.summary, content: { [type]: { schema: schemaOf(route.response, 'output', shared) } } };
}

/** A SCIM body may come as application/scim+json or application/json; every other body as JSON. */
function requestContent(route: RouteDef, schema: JsonSchema): JsonSchema {
  return isScim(route)
    ? { 'application/json': { schema }, 'application/scim+json': { schema } }
    : { 'application/json': { schema } };
}

function operation(name: string, route: RouteDef, shared: SharedSchemas): JsonSchema {
  return {
    operationId: name,
    summary: route.summary,
    tags: [tagOf(route)],
    'x-outpost-access': route.access,
    parameters: [
      ...parameters(route.params, 'path', shared),
      ...parameters(route.query, 'query', shared),
      ...(route.headers ?? []).map((header) => ({ name: header, in: 'header', required: false, schema: { type: 'string' } })),
    ],
    ...security(route),
    ...(route.body
      ? { requestBody: { required: true, content: requestContent(route, schemaOf(route.body, 'input', shared)) } }
      : {}),
    responses: {
      [String(route.status ?? 200)]: success(route, shared),
      default: isScim(route)
        ? { description: 'A SCIM error (RFC 7644 §3.12)', content: scimErrorContent }
        : { description: 'An RFC 9457 problem', content: problemContent },
    },
  };
}

/**
 * Any JSON value, as zod's `z.json()` means it, written with `type` rather than zod's `anyOf` of
 * one schema per type: the same values, in the form documentation tools read best.
 */
const JSON_VALUE: JsonSchema = {
  description: 'Any JSON value',
  type: ['string', 'number', 'boolean', 'null', 'array', 'object'],
  items: { $ref: '#/components/schemas/JsonValue' },
  additionalProperties: { $ref: '#/components/schemas/JsonValue' },
};

let cached: JsonSchema | null = null;

/** The OpenAPI 3.1 document of the route table (requests described as accepted input, responses as sent). */
export function openApiDocument(): JsonSchema {
  if (cached) return cached;
  const shared = new SharedSchemas([{ name: 'JsonValue', type: JsonValue, schema: JSON_VALUE }]);
  const problem = schemaOf(Problem, 'output', shared);
  const scimError = schemaOf(ScimError, 'output', shared);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const tags: string[] = [];
  for (const [name, route] of Object.entries(routes) as [string, RouteDef][]) {
    const path = servedPath(route).replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(name, route, shared);
    if (!tags.includes(tagOf(route))) tags.push(tagOf(route));
  }
  cached = {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: 'Outpost control plane API', version: '1' },
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (op_…) or a run token' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'outpost_session',
          description: 'A browser session from POST /api/v1/auth/session; mutations also send x-outpost-csrf',
        },
        metrics: {
          type: 'http',
          scheme: 'bearer',
          description: "The operator's OUTPOST_METRICS_TOKEN; without one configured the route does not exist",
        },
        organisationToken: {
          type: 'http',
          scheme: 'bearer',
          description: "An organisation token (opo_…) holding the route's scope: the directory's SCIM routes take nothing else",
        },
      },
      schemas: { Problem: problem, ScimError: scimError, ...shared.components },
    },
    tags: tags.map((tag) => ({ name: tag })),
    paths,
  };
  return cached;
}
