// Unleash client API for server-side SDKs: the served features (ETag, 304), registration and metrics intake.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { parseJsonText, readJson } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { SdkMetricsOptions } from '../health/ingest.ts';
import type { Logger } from '../log.ts';
import {
  type ServedDocument,
  type ServedFeatures,
  serializeDocument,
  strongEtag,
} from '../rollout/served.ts';
import { cut, type SdkRegistry } from '../sdk/instances.ts';
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
  sdks?: SdkRegistry,
) {
  const text = await c.req.text();
  const body = objectOf(text.trim() === '' ? {} : parseJsonText(text));
  sdks?.seen(c.req.raw.headers, body, 'metrics');
  const idempotency = idempotencyKeyOf(c, `${kind}-metrics`, text);
  const result = signals?.ingestUnleashMetrics(body, sourceOf(c, body), {
    exposuresOnly: kind === 'frontend',
    idempotency,
  });
  if (result?.replayed) c.header('Idempotent-Replayed', 'true');
  const { accepted = 0, skipped = 0, rejected = [] } = result ?? {};
  return c.json(skipped ? { accepted, skipped, rejected } : { accepted }, 202);
}

/** A served features document as the wire carries it: the body, its bytes, and its strong ETag. */
export interface FeaturesDocument {
  body: string;
  bytes: Buffer;
  etag: string;
  revision: number;
}

/**
 * The `/api/client/features` answer for a namePrefix (or none), shared by the Hono route and the fast path.
 * Built once per revision: the full document's bytes are encoded once, and filtered documents (namePrefix)
 * are rare, so at most 64 of them are remembered, for the current revision only.
 */
export function createFeatureDocuments(served: ServedFeatures) {
  let full: { doc: ServedDocument; hit: FeaturesDocument } | undefined;
  let filtered = { revision: -1, byPrefix: new Map<string, FeaturesDocument>() };
  return (namePrefix: string | undefined): FeaturesDocument => {
    const doc = served.current();
    if (!namePrefix) {
      if (full?.doc !== doc)
        full = {
          doc,
          hit: { body: doc.body, bytes: Buffer.from(doc.body), etag: doc.etag, revision: doc.revision },
        };
      return full.hit;
    }
    if (filtered.revision !== doc.revision) filtered = { revision: doc.revision, byPrefix: new Map() };
    let hit = filtered.byPrefix.get(namePrefix);
    if (!hit) {
      const features = doc.features.filter((f) => f.name.startsWith(namePrefix));
      const body = serializeDocument(features, doc.revision, { namePrefix });
      hit = { body, bytes: Buffer.from(body), etag: strongEtag(body), revision: doc.revision };
      if (filtered.byPrefix.size < 64) filtered.byPrefix.set(namePrefix, hit);
    }
    return hit;
  };
}

export function createClientRoutes(deps: {
  served: ServedFeatures;
  signals?: SignalSink | undefined;
  log: Logger;
  sdks?: SdkRegistry | undefined;
}) {
  const { served, signals, log, sdks } = deps;
  const app = new Hono<AuthEnv>();
  const documentFor = createFeatureDocuments(served);

  // project and tag filters are accepted and ignored: every Rollgate flag lives in the default project, untagged.
  app.get('/features', (c) => {
    // Over a real port, fast-path.ts answers this route before Hono sees it; the two must stay byte-identical.
    const namePrefix = c.req.query('namePrefix');
    const { body, etag, revision } = documentFor(namePrefix);
    // A 200 or a 304 on its current ETag: either way the SDK now holds this revision.
    sdks?.fetched(c.req.raw.headers, revision, etag, 'poll', namePrefix);
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
    const instance = sdks?.seen(c.req.raw.headers, body, 'register');
    // Names as the registry validated them: a sender's raw headers (any length, any bytes) are not logged.
    log.debug('sdk registered', {
      registered: instance !== undefined,
      ...(instance ? { appName: instance.appName, instanceId: instance.instanceId } : {}),
      sdk: cut(c.req.header('unleash-sdk'), 60),
    });
    return c.body(null, 202);
  });

  app.post('/metrics', (c) => ingestMetrics(c, signals, 'client', sdks));

  return app;
}
