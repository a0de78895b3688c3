// Signal intake: POST /api/signals takes a batch of records, all or nothing, acknowledged only once committed.
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Clock } from '../clock.ts';
import { parseJsonText } from '../edge.ts';
import { AppError } from '../errors.ts';
import { type ArmsOf, firstArmProblem } from '../health/arms.ts';
import type { IdempotencyKey } from '../health/idempotency-store.ts';
import type { IngestAnswer, IngestOptions } from '../health/ingest.ts';
import { parseSignalBatch, type SignalRecord } from '../health/signal-schema.ts';
import type { AuthEnv } from './auth.ts';

export interface SignalIngestor {
  ingest(records: SignalRecord[], opts?: IngestOptions): IngestAnswer;
}

/** The longest Idempotency-Key accepted; senders use UUIDs or batch hashes. */
export const maxIdempotencyKeyLength = 200;

/**
 * The request's Idempotency-Key, scoped to the endpoint and the sender's token, with the body's hash; undefined
 * without the header. A key that is empty or too long is a 400: silently ignoring it would double count a retry.
 */
export function idempotencyKeyOf(
  c: Context<AuthEnv>,
  scope: string,
  body: string,
): IdempotencyKey | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > maxIdempotencyKeyLength)
    throw new AppError('BAD_REQUEST', `Idempotency-Key must be 1 to ${maxIdempotencyKeyLength} characters`, {
      issues: [{ path: 'Idempotency-Key', message: `1 to ${maxIdempotencyKeyLength} characters` }],
    });
  return {
    scope: `${scope}:${c.var.principal.name}`,
    key,
    bodyHash: createHash('sha256').update(body).digest('base64url'),
  };
}

export function createSignalRoutes(deps: { signals: SignalIngestor; clock: Clock; arms: ArmsOf }) {
  const app = new Hono<AuthEnv>();
  app.post('/', async (c) => {
    const text = await c.req.text();
    const idempotency = idempotencyKeyOf(c, 'signals', text);
    const parsed = parseSignalBatch(parseJsonText(text), deps.clock());
    const batch = parsed.ok ? (firstArmProblem(parsed.records, deps.arms) ?? parsed) : parsed;
    if (!('records' in batch)) {
      const where =
        batch.index === null ? '' : `record ${batch.index}${batch.path ? `, ${batch.path}` : ''}: `;
      throw new AppError('BAD_REQUEST', `${where}${batch.reason}; nothing was stored`, {
        index: batch.index,
        path: batch.path,
        reason: batch.reason,
      });
    }
    // ingest commits before returning, so the 200 means the batch is durable (and its key with it).
    const { replayed, ...answer } = deps.signals.ingest(batch.records, { idempotency });
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(answer, 200);
  });
  return app;
}
