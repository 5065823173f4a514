import { Problem, type RouteDef, routes } from '@outpost/sdk/contracts';
import { z } from 'zod';
import { API_PREFIX } from './mount-routes.js';

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

function operation(name: string, route: RouteDef): JsonSchema {
  const status = String(route.status ?? 200);
  return {
    operationId: name,
    summary: route.summary,
    'x-outpost-access': route.access,
    parameters: [
      ...parameters(route.params, 'path'),
      ...parameters(route.query, 'query'),
      ...(route.headers ?? []).map((header) => ({ name: header, in: 'header', required: false, schema: { type: 'string' } })),
    ],
    ...(route.access.anonymous ? { security: [] } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }
      : {}),
    responses: {
      [status]: {
        description: route.summary,
        ...(status === '204'
          ? {}
          : {
              // A stream's schema is that of each event's data (each line, for NDJSON).
              content: { [route.stream ?? 'application/json']: { schema: schemaOf(route.response, 'output') } },
            }),
      },
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
    const path = `${API_PREFIX}${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
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
      },
      schemas: { Problem: schemaOf(Problem, 'output') },
    },
    paths,
  };
  return cached;
}
