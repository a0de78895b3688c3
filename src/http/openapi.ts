// The OpenAPI 3.1 description of every route, with request schemas generated from the zod schemas the routes parse with.
import fs from 'node:fs';
import { z } from 'zod';
import { errorBodySchema, type Operation, operations } from './openapi-operations.ts';

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  return rest;
};

function queryParameters(schema: z.ZodObject) {
  const s = jsonSchema(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: s.required?.includes(name) ?? false,
    schema: property,
  }));
}

function operationObject(o: Operation) {
  const parameters = [
    ...[...o.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    })),
    ...(o.query ? queryParameters(o.query) : []),
  ];
  const responses: Record<string, object> = {};
  for (const [status, description] of Object.entries(o.responses)) responses[status] = { description };
  if (o.tokens.length) {
    responses['401'] = { $ref: '#/components/responses/Error' };
    responses['403'] = { $ref: '#/components/responses/Error' };
  }
  if (o.body || o.query) responses['400'] = { $ref: '#/components/responses/Error' };
  const operation: Record<string, unknown> = {
    operationId: `${o.method}${o.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: o.summary,
    tags: [o.tag],
    security: o.tokens.length ? [{ bearer: [] }, { rawToken: [] }] : [],
    'x-rollgate-token-kinds': o.tokens,
    responses,
  };
  if (parameters.length) operation.parameters = parameters;
  if (o.body) {
    const content =
      'contentTypes' in o.body
        ? Object.fromEntries(o.body.contentTypes.map((t) => [t, {}]))
        : { 'application/json': { schema: jsonSchema(o.body) } };
    operation.requestBody = {
      required: true,
      content,
      ...('description' in o.body ? { description: o.body.description } : {}),
    };
  }
  return operation;
}

/** The document; `version` is the package version. */
export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of operations) {
    paths[o.path] ??= {};
    (paths[o.path] as Record<string, unknown>)[o.method] = operationObject(o);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Rollgate',
      version,
      description:
        'Feature-flag rollout controller. Each operation lists the token kinds it accepts in x-rollgate-token-kinds. The guarded demo service under /service is not described here.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' },
        rawToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'The token alone, as Unleash SDKs send it',
        },
      },
      responses: {
        Error: {
          description: 'Error',
          content: { 'application/json': { schema: jsonSchema(errorBodySchema) } },
        },
      },
    },
  };
}

/** The document as served and as checked in (flags/openapi.json), versioned like the package. */
export function openApiJson(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return `${JSON.stringify(openApiDocument(pkg.version), null, 2)}\n`;
}
