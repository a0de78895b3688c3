// Unleash client API for server-side SDKs: the served features (ETag, 304), registration and metrics intake.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { parseJsonText, readJson } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { SdkMetricsOptions } from '../health/ingest.ts';
import type { Logger } from '../log.ts';
import { type ServedFeatures, serializeDocument, strongEtag } from '../rollout/served.ts';
import type { AuthEnv } from './auth.ts';
import { etagMatches } from './etag.ts';
import { idempotencyKeyOf } from './signal-routes.ts';

/** Where SDK metrics go; the health module's signal ingest satisfies it. */
export interface SignalSink {
  ingestUnleashMetrics(
    payload: unknown,
    source: { appName?: string; instanceId?: string },
    opts?: SdkMetricsOptions,
  ): { accepted: number; skipped: number; rejected: unknown[]; replayed: boolean };
}

const optionalString = z.string().optional().catch(undefined);

// Tolerant on purpose: a 400 makes an Unleash SDK drop its metrics, so only a non-object body is refused.
const sourceFields = z.looseObject({ appName: optionalString, instanceId: optionalString });

/** Parses a JSON object body; anything else is the one thing these endpoints cannot tolerate. */
export async function objectBody(c: Context): Promise<Record<string, unknown>> {
  return objectOf(await readJson(c, {}));
}

function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('BAD_REQUEST', 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The SDK names itself in headers as well as in the body; the body wins when both are present. */
export function sourceOf(c: Context, body: Record<string, unknown>) {
  const fields = sourceFields.parse(body);
  const source: { appName?: string; instanceId?: string } = {};
  const appName = fields.appName ?? c.req.header('unleash-appname');
  const instanceId = fields.instanceId ?? c.req.header('unleash-instanceid');
  if (appName) source.appName = appName;
  if (instanceId) source.instanceId = instanceId;
  return source;
}

/**
 * SDK metrics (server or frontend) into the signal store. unleash-client sends no batch identity, so a post
 * it retries after a lost answer counts twice (at most once per metrics interval); a sender that sets
 * Idempotency-Key is stored once.
 */
export async function ingestMetrics(
  c: Context<AuthEnv>,
  signals: SignalSink | undefined,
  kind: 'client' | 'frontend',
) {
  const text = await c.req.text();
  const body = objectOf(text.trim() === '' ? {} : parseJsonText(text));
  const idempotency = idempotencyKeyOf(c, `${kind}-metrics`, text);
  const result = signals?.ingestUnleashMetrics(body, sourceOf(c, body), {
    exposuresOnly: kind === 'frontend',
    idempotency,
  });
  if (result?.replayed) c.header('Idempotent-Replayed', 'true');
  const { accepted = 0, skipped = 0, rejected = [] } = result ?? {};
  return c.json(skipped ? { accepted, skipped, rejected } : { accepted }, 202);
}

export function createClientRoutes(deps: {
  served: ServedFeatures;
  signals?: SignalSink | undefined;
  log: Logger;
}) {
  const { served, signals, log } = deps;
  const app = new Hono<AuthEnv>();
  // Filtered documents (namePrefix) are rare; remember them for the current revision only.
  let filtered = { revision: -1, byPrefix: new Map<string, { body: string; etag: string }>() };

  const documentFor = (namePrefix: string | undefined) => {
    const doc = served.current();
    if (!namePrefix) return doc;
    if (filtered.revision !== doc.revision) filtered = { revision: doc.revision, byPrefix: new Map() };
    let hit = filtered.byPrefix.get(namePrefix);
    if (!hit) {
      const features = doc.features.filter((f) => f.name.startsWith(namePrefix));
      const body = serializeDocument(features, doc.revision, { namePrefix });
      hit = { body, etag: strongEtag(body) };
      if (filtered.byPrefix.size < 64) filtered.byPrefix.set(namePrefix, hit);
    }
    return hit;
  };

  // project and tag filters are accepted and ignored: every Rollgate flag lives in the default project, untagged.
  app.get('/features', (c) => {
    // The hot path of every polling SDK: no parsing beyond the one parameter that changes the answer.
    const { body, etag } = documentFor(c.req.query('namePrefix'));
    if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, { ETag: etag });
    return c.body(body, 200, { 'Content-Type': 'application/json; charset=utf-8', ETag: etag });
  });

  app.get('/features/:name', (c) => {
    const feature = served.current().byName.get(c.req.param('name'));
    if (!feature) throw new AppError('NOT_FOUND', `no flag named "${c.req.param('name')}"`);
    return c.json(feature);
  });

  app.post('/register', async (c) => {
    const body = await objectBody(c);
    log.debug('sdk registered', { ...sourceOf(c, body), sdk: c.req.header('unleash-sdk') });
    return c.body(null, 202);
  });

  app.post('/metrics', (c) => ingestMetrics(c, signals, 'client'));

  return app;
}
