// The OpenAPI 3.1 description of every route, with request schemas generated from the zod schemas the routes parse with.
import fs from 'node:fs';
import { z } from 'zod';
import { alertmanagerPayload, genericPayload, grafanaPayload } from '../alerts/schema.ts';
import type { TokenKind } from '../config.ts';
import { errorCodes } from '../errors.ts';
import { signalRecordSchema } from '../health/signal-schema.ts';
import { rolloutActions } from '../rollout/actions.ts';
import { eventsQuery, reasonBody } from './admin-routes.ts';
import { listQuery } from './alert-routes.ts';
import { healthQuery } from './health-routes.ts';
import { actionBody } from './rollout-routes.ts';

interface Operation {
  method: 'get' | 'post';
  /** OpenAPI style: `{name}` for a path parameter. */
  path: string;
  summary: string;
  tag: string;
  tokens: readonly TokenKind[];
  body?: z.ZodType | { contentTypes: string[]; description: string };
  query?: z.ZodObject;
  /** Status → description; the success answers are described in prose (no response schemas exist yet). */
  responses: Record<number, string>;
}

export const errorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.enum(errorCodes), message: z.string(), details: z.unknown().optional() }),
});

const signalBatch = z.union([
  z.strictObject({ records: z.array(signalRecordSchema) }),
  z.array(signalRecordSchema),
]);
const sdkObject = z
  .looseObject({})
  .describe('As the Unleash SDKs send it; tolerant, only a non-object is refused.');
const ofrepBody = z.looseObject({
  context: z.looseObject({ targetingKey: z.string().optional() }).optional(),
});
const unleashQuery = z.strictObject({
  namePrefix: z.string().optional(),
  project: z.string().optional().describe('Accepted and ignored: every flag is in the default project.'),
  tag: z.string().optional().describe('Accepted and ignored.'),
});

const op = (o: Operation) => o;
const ok = { 200: 'OK' };

export const operations: Operation[] = [
  op({ method: 'get', path: '/health/live', summary: 'Liveness', tag: 'ops', tokens: [], responses: ok }),
  op({
    method: 'get',
    path: '/health/ready',
    summary: 'Readiness',
    tag: 'ops',
    tokens: [],
    responses: { 200: 'ready', 503: 'starting' },
  }),
  op({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'ops',
    tokens: [],
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'ops',
    tokens: [],
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/api/admin/flags',
    summary: 'Flags with state and verdicts',
    tag: 'admin',
    tokens: ['admin'],
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/api/admin/flags/{name}',
    summary: 'One flag: plan, state, verdict, recent events',
    tag: 'admin',
    tokens: ['admin'],
    responses: { 200: 'OK', 404: 'no such flag' },
  }),
  ...(['enable', 'disable'] as const).map((a) =>
    op({
      method: 'post',
      path: `/api/admin/flags/{name}/${a}`,
      summary: `Kill switch: ${a}`,
      tag: 'admin',
      tokens: ['admin'],
      body: reasonBody,
      responses: ok,
    }),
  ),
  ...rolloutActions.map((a) =>
    op({
      method: 'post',
      path: `/api/admin/flags/{name}/rollout/${a}`,
      summary: `Rollout: ${a}`,
      tag: 'admin',
      tokens: ['admin'],
      body: actionBody,
      responses: { 200: 'OK', 409: 'not allowed in this phase' },
    }),
  ),
  op({
    method: 'get',
    path: '/api/admin/flags/{name}/health',
    summary: 'Verdict and signal series',
    tag: 'admin',
    tokens: ['admin'],
    query: healthQuery,
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/api/admin/events',
    summary: 'Decision and audit log, newest first',
    tag: 'admin',
    tokens: ['admin'],
    query: eventsQuery,
    responses: ok,
  }),
  op({
    method: 'post',
    path: '/api/admin/plans/reload',
    summary: 'Re-read the plan folder',
    tag: 'admin',
    tokens: ['admin'],
    responses: { 200: 'OK', 422: 'plans rejected' },
  }),
  op({
    method: 'get',
    path: '/api/admin/alerts',
    summary: 'Received alerts',
    tag: 'admin',
    tokens: ['admin'],
    query: listQuery,
    responses: ok,
  }),
  ...(
    [
      ['alertmanager', alertmanagerPayload],
      ['grafana', grafanaPayload],
    ] as const
  ).map(([source, body]) =>
    op({
      method: 'post',
      path: `/api/alerts/${source}`,
      summary: `Alert webhook (${source})`,
      tag: 'alerts',
      tokens: ['alert'],
      body,
      responses: { 200: 'matched a flag', 202: 'matched nothing', 503: 'retry' },
    }),
  ),
  op({
    method: 'post',
    path: '/api/alerts',
    summary: 'Alert webhook (generic)',
    tag: 'alerts',
    tokens: ['alert'],
    body: genericPayload,
    responses: { 200: 'matched a flag', 202: 'matched nothing', 503: 'retry' },
  }),
  op({
    method: 'post',
    path: '/api/signals',
    summary: 'Health signals, all or nothing',
    tag: 'signals',
    tokens: ['client', 'ingest'],
    body: signalBatch,
    responses: { 200: 'stored' },
  }),
  op({
    method: 'post',
    path: '/v1/metrics',
    summary: 'OTLP/HTTP metrics',
    tag: 'signals',
    tokens: ['ingest'],
    body: {
      contentTypes: ['application/x-protobuf', 'application/json'],
      description: 'An OTLP ExportMetricsServiceRequest (opentelemetry-proto v1.11.0), gzip allowed.',
    },
    responses: { 200: 'ExportMetricsServiceResponse, with partialSuccess when points were refused' },
  }),
  op({
    method: 'get',
    path: '/api/client/features',
    summary: 'Served features (ETag, 304)',
    tag: 'unleash',
    tokens: ['client'],
    query: unleashQuery,
    responses: { 200: 'OK', 304: 'unchanged' },
  }),
  op({
    method: 'get',
    path: '/api/client/features/{name}',
    summary: 'One served feature',
    tag: 'unleash',
    tokens: ['client'],
    responses: { 200: 'OK', 404: 'no such flag' },
  }),
  op({
    method: 'get',
    path: '/api/client/delta',
    summary: 'Delta polling: hydration, then changes since the ETag revision',
    tag: 'unleash',
    tokens: ['client'],
    query: unleashQuery,
    responses: { 200: 'events', 304: 'unchanged' },
  }),
  op({
    method: 'get',
    path: '/api/client/streaming',
    summary: 'Server-Sent Events stream of changes',
    tag: 'unleash',
    tokens: ['client'],
    responses: { 200: 'text/event-stream', 503: 'at the client limit' },
  }),
  op({
    method: 'post',
    path: '/api/client/register',
    summary: 'SDK registration',
    tag: 'unleash',
    tokens: ['client'],
    body: sdkObject,
    responses: { 202: 'accepted' },
  }),
  op({
    method: 'post',
    path: '/api/client/metrics',
    summary: 'SDK metrics (exposures, impact metrics)',
    tag: 'unleash',
    tokens: ['client'],
    body: sdkObject,
    responses: { 202: 'accepted' },
  }),
  op({
    method: 'get',
    path: '/api/frontend',
    summary: 'Evaluated toggles for a context in the query',
    tag: 'frontend',
    tokens: ['frontend'],
    responses: ok,
  }),
  op({
    method: 'post',
    path: '/api/frontend',
    summary: 'Evaluated toggles for a context in the body',
    tag: 'frontend',
    tokens: ['frontend'],
    body: sdkObject,
    responses: ok,
  }),
  op({
    method: 'post',
    path: '/api/frontend/client/metrics',
    summary: 'Frontend SDK metrics',
    tag: 'frontend',
    tokens: ['frontend'],
    body: sdkObject,
    responses: { 202: 'accepted' },
  }),
  op({
    method: 'post',
    path: '/api/frontend/client/register',
    summary: 'Frontend SDK registration',
    tag: 'frontend',
    tokens: ['frontend'],
    body: sdkObject,
    responses: { 202: 'accepted' },
  }),
  op({
    method: 'post',
    path: '/ofrep/v1/evaluate/flags/{key}',
    summary: 'OFREP: evaluate one flag',
    tag: 'ofrep',
    tokens: ['client', 'frontend'],
    body: ofrepBody,
    responses: { 200: 'OK', 404: 'no such flag' },
  }),
  op({
    method: 'post',
    path: '/ofrep/v1/evaluate/flags',
    summary: 'OFREP: evaluate every flag',
    tag: 'ofrep',
    tokens: ['client', 'frontend'],
    body: ofrepBody,
    responses: { 200: 'OK', 304: 'unchanged' },
  }),
];

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
