import { Problem, type RouteDef, routes, servedPath } from '@outpost/sdk/contracts';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

function schemaOf(type: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(type, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  return schema;
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

/** Who may call it, as OpenAPI says it: nobody in particular, the operator's token, or the API's credentials. */
function security(route: RouteDef): JsonSchema {
  if (route.access.anonymous) return { security: [] };
  if (route.access.operator) return { security: [{ metrics: [] }] };
  return {};
}

/** A success as OpenAPI says it: no body (204), a redirect, a stream (the schema of each event's data, each NDJSON line), or one document. */
function success(route: RouteDef): JsonSchema {
  if (route.produces === 'redirect') {
    return { description: route.summary, headers: { location: { required: true, schema: { type: 'string' } } } };
  }
  if (route.status === 204) return { description: route.summary };
  const type = route.stream ?? route.produces ?? 'application/json';
  return { description: route.summary, content: { [type]: { schema: schemaOf(route.response, 'output') } } };
}

function operation(name: string, route: RouteDef): JsonSchema {
  return {
    operationId: name,
    summary: route.summary,
    'x-outpost-access': route.access,
    parameters: [
      ...parameters(route.params, 'path'),
      ...parameters(route.query, 'query'),
      ...(route.headers ?? []).map((header) => ({ name: header, in: 'header', required: false, schema: { type: 'string' } })),
    ],
    ...security(route),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }
      : {}),
    responses: {
      [String(route.status ?? 200)]: success(route),
      default: { description: 'An RFC 9457 problem', content: problemContent },
    },
  };
}

let cached: JsonSchema | null = null;

/** The OpenAPI 3.1 document of the route table (requests described as accepted input, responses as sent). */
export function openApiDocument(): JsonSchema {
  if (cached) return cached;
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(routes) as [string, RouteDef][]) {
    const path = servedPath(route).replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(name, route);
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
      },
      schemas: { Problem: schemaOf(Problem, 'output') },
    },
    paths,
  };
  return cached;
}
