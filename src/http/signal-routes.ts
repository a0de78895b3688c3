// Signal intake: POST /api/signals takes a batch of records, all or nothing, acknowledged only once committed.
import { Hono } from 'hono';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { parseSignalBatch, type SignalRecord } from '../health/signal-schema.ts';
import type { AuthEnv } from './auth.ts';

export interface SignalIngestor {
  ingest(records: SignalRecord[]): { accepted: number };
}

export function createSignalRoutes(deps: { signals: SignalIngestor; clock: Clock }) {
  const app = new Hono<AuthEnv>();
  app.post('/', async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (err) {
      throw new AppError('BAD_REQUEST', `body is not valid JSON: ${(err as Error).message}`);
    }
    const batch = parseSignalBatch(body, deps.clock());
    if (!batch.ok) {
      const where =
        batch.index === null ? '' : `record ${batch.index}${batch.path ? `, ${batch.path}` : ''}: `;
      throw new AppError('BAD_REQUEST', `${where}${batch.reason}; nothing was stored`, {
        index: batch.index,
        path: batch.path,
        reason: batch.reason,
      });
    }
    // ingest commits before returning, so the 200 means the batch is durable.
    return c.json(deps.signals.ingest(batch.records), 200);
  });
  return app;
}
