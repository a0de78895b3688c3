// Every route Rollgate serves, as data: method, path, token kinds, and the zod schemas it parses requests with.
import { z } from 'zod';
import { alertmanagerPayload, genericPayload, grafanaPayload } from '../alerts/schema.ts';
import type { TokenKind } from '../config.ts';
import { errorCodes } from '../errors.ts';
import { signalRecordSchema } from '../health/signal-schema.ts';
import { rolloutActions } from '../rollout/actions.ts';
import { eventsQuery, reasonBody } from './admin-routes.ts';
import { listQuery } from './alert-routes.ts';
import { auditQuery, auditRunBody } from './audit-routes.ts';
import { drillBody } from './drill-routes.ts';
import { healthQuery } from './health-routes.ts';
import { actionBody } from './rollout-routes.ts';

export interface Operation {
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
    method: 'get',
    path: '/api/admin/replicas',
    summary: 'This replica, whether it leads (runs the scheduler), and the leader it last saw',
    tag: 'admin',
    tokens: ['admin'],
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
    path: '/api/admin/sdk-instances',
    summary: 'SDK instances seen on the client API: the revision each last fetched, when, and how',
    tag: 'admin',
    tokens: ['admin'],
    responses: ok,
  }),
  op({
    method: 'post',
    path: '/api/admin/drill',
    summary: 'Start a rollback drill: toggle rollgate.drill and time every SDK instance until it holds it',
    tag: 'admin',
    tokens: ['admin'],
    body: drillBody,
    responses: {
      202: 'drill started (read it with GET /api/admin/drill)',
      409: 'a drill is already running',
    },
  }),
  op({
    method: 'get',
    path: '/api/admin/drill',
    summary: 'The running rollback drill, else the last one since the server started',
    tag: 'admin',
    tokens: ['admin'],
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/api/admin/audit',
    summary: 'Run the audit now (power, blind spots, trust inflation): every check pass, warn or fail',
    tag: 'admin',
    tokens: ['admin'],
    query: auditQuery,
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/api/admin/audit/latest',
    summary: 'The latest stored audit run (scheduled or requested)',
    tag: 'admin',
    tokens: ['admin'],
    responses: ok,
  }),
  op({
    method: 'post',
    path: '/api/admin/audit/runs',
    summary: 'Run the audit now, store it, and notify the gates that newly fail',
    tag: 'admin',
    tokens: ['admin'],
    body: auditRunBody,
    responses: ok,
  }),
  op({
    method: 'get',
    path: '/api/admin/audit/ledger',
    summary: 'The trust ledger: human overrides and escapes from the event log',
    tag: 'admin',
    tokens: ['admin'],
    responses: ok,
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
