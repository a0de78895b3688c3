// OpenFeature Remote Evaluation Protocol (OFREP): single and bulk evaluation of the served flags.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { readJson } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { Evaluation, UnleashContext, UnleashFeature } from '../evaluation/types.ts';
import { strongEtag } from '../rollout/served.ts';
import type { AuthEnv } from './auth.ts';
import { etagMatches } from './etag.ts';
import { type ServedEvaluator, toUnleashContext } from './served-evaluator.ts';

type ErrorCode = 'PARSE_ERROR' | 'INVALID_CONTEXT' | 'FLAG_NOT_FOUND' | 'GENERAL';

const statusOf = { PARSE_ERROR: 400, INVALID_CONTEXT: 400, FLAG_NOT_FOUND: 404, GENERAL: 500 } as const;

interface Failure {
  key: string;
  errorCode: ErrorCode;
  errorDetails: string;
}

interface Success {
  key: string;
  value: boolean | string;
  reason: Evaluation['reason'];
  variant: string;
  metadata: Record<string, string | boolean>;
}

type Request =
  | { ok: true; context: UnleashContext }
  | { ok: false; errorCode: ErrorCode; errorDetails: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{ context }`; OpenFeature's targetingKey is the Unleash userId unless the context names one itself. */
async function readRequest(c: Context): Promise<Request> {
  let body: unknown;
  try {
    body = await readJson(c, {});
  } catch (err) {
    // OFREP answers a bad body in its own error shape, not ours.
    if (!(err instanceof AppError && err.code === 'BAD_REQUEST')) throw err;
    return { ok: false, errorCode: 'PARSE_ERROR', errorDetails: err.message };
  }
  if (!isObject(body))
    return { ok: false, errorCode: 'PARSE_ERROR', errorDetails: 'body must be a JSON object' };
  const raw = body.context ?? {};
  if (!isObject(raw))
    return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: 'context must be an object' };
  const { targetingKey, ...rest } = raw;
  if (targetingKey !== undefined && typeof targetingKey !== 'string') {
    return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: 'targetingKey must be a string' };
  }
  const context = toUnleashContext(rest);
  if (targetingKey && !context.userId) context.userId = targetingKey;
  return { ok: true, context };
}

/**
 * A flag without variants is a boolean (variant "on"/"off"); a flag with variants is a string, the variant's
 * name ("disabled" when none is served), with its payload in the metadata.
 */
function toOfrep(key: string, feature: UnleashFeature | undefined, result: Evaluation): Success | Failure {
  if (result.reason === 'ERROR' || !feature) {
    const errorCode: ErrorCode = result.errorCode ?? 'GENERAL';
    return { key, errorCode, errorDetails: errorText(key, errorCode) };
  }
  const metadata: Record<string, string | boolean> = { enabled: result.enabled };
  if (result.variant.payload) {
    metadata.payloadType = result.variant.payload.type;
    metadata.payload = result.variant.payload.value;
  }
  const hasVariants = (feature.variants?.length ?? 0) > 0;
  const variant = hasVariants ? result.variant.name : result.enabled ? 'on' : 'off';
  return {
    key,
    value: hasVariants ? result.variant.name : result.enabled,
    reason: result.reason,
    variant,
    metadata,
  };
}

const errorText = (key: string, code: ErrorCode) =>
  code === 'FLAG_NOT_FOUND'
    ? `no flag named "${key}"`
    : code === 'PARSE_ERROR'
      ? `the definition of "${key}" cannot be evaluated`
      : `evaluating "${key}" failed`;

export function createOfrepRoutes(deps: { evaluator: ServedEvaluator }) {
  const app = new Hono<AuthEnv>();

  app.post('/evaluate/flags/:key', async (c) => {
    const key = c.req.param('key');
    const request = await readRequest(c);
    if (!request.ok) {
      const { errorCode, errorDetails } = request;
      return c.json({ key, errorCode, errorDetails }, statusOf[errorCode]);
    }
    const { doc, evaluator } = deps.evaluator.current();
    const response = toOfrep(key, doc.byName.get(key), evaluator.evaluate(key, request.context));
    if ('errorCode' in response) return c.json(response, statusOf[response.errorCode]);
    return c.json(response);
  });

  app.post('/evaluate/flags', async (c) => {
    const request = await readRequest(c);
    if (!request.ok) {
      const { errorCode, errorDetails } = request;
      return c.json({ errorCode, errorDetails }, statusOf[errorCode]);
    }
    const { doc, evaluator } = deps.evaluator.current();
    const flags = doc.features.map((f) => toOfrep(f.name, f, evaluator.evaluate(f.name, request.context)));
    const body = JSON.stringify({ flags });
    const etag = strongEtag(body);
    if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, { ETag: etag });
    return c.body(body, 200, { 'Content-Type': 'application/json; charset=utf-8', ETag: etag });
  });

  return app;
}
