// Unleash frontend API for browser and mobile SDKs: flags evaluated here, only the enabled ones returned.
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { UnleashContext } from '../evaluation/types.ts';
import type { Logger } from '../log.ts';
import { strongEtag } from '../rollout/served.ts';
import type { AuthEnv } from './auth.ts';
import { ingestMetrics, objectBody, type SignalSink, sourceOf } from './client-routes.ts';
import { etagMatches } from './etag.ts';
import { type ServedEvaluator, toUnleashContext } from './served-evaluator.ts';

/** Browser SDKs call from any origin with the token in a header and read the ETag back. */
export const frontendCors = cors({
  origin: '*',
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  exposeHeaders: ['ETag'],
  maxAge: 86_400,
});

/** As Unleash does: without a remoteAddress in the context, the caller's address stands in. */
function withRemoteAddress(c: Context, context: UnleashContext): UnleashContext {
  if (context.remoteAddress) return context;
  try {
    const address = getConnInfo(c).remote.address;
    return address ? { ...context, remoteAddress: address } : context;
  } catch {
    // No socket behind the request (app.request in tests): leave the context as it is.
    return context;
  }
}

export function createFrontendRoutes(deps: {
  evaluator: ServedEvaluator;
  signals?: SignalSink | undefined;
  log: Logger;
}) {
  const { evaluator, signals, log } = deps;
  const app = new Hono<AuthEnv>();

  const toggles = (c: Context, context: UnleashContext) => {
    const { evaluator: current } = evaluator.current();
    const enabled = current
      .evaluateAll(withRemoteAddress(c, context))
      .filter((f) => f.enabled)
      .map((f) => ({ name: f.name, enabled: true, variant: f.variant, impressionData: f.impressionData }));
    const body = JSON.stringify({ toggles: enabled });
    const etag = strongEtag(body);
    if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, { ETag: etag });
    return c.body(body, 200, { 'Content-Type': 'application/json; charset=utf-8', ETag: etag });
  };

  app.get('/', (c) => toggles(c, toUnleashContext(c.req.query())));

  app.post('/', async (c) => {
    const body = await objectBody(c);
    // unleash-proxy-client posts `{ context }`; a bare context object is accepted too.
    const { context, ...rest } = body;
    const raw = context && typeof context === 'object' && !Array.isArray(context) ? context : rest;
    return toggles(c, toUnleashContext(raw as Record<string, unknown>));
  });

  app.post('/client/metrics', (c) => ingestMetrics(c, signals, 'frontend'));

  app.post('/client/register', async (c) => {
    const body = await objectBody(c);
    log.debug('frontend sdk registered', { ...sourceOf(c, body), sdk: c.req.header('unleash-sdk') });
    return c.body(null, 202);
  });

  return app;
}
