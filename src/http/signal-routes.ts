// Signal intake: POST /api/signals takes a batch of records, all or nothing, acknowledged only once committed.
import { Hono } from 'hono';
import type { Clock } from '../clock.ts';
import { readJson } from '../edge.ts';
import { AppError } from '../errors.ts';
import { parseSignalBatch, type SignalRecord } from '../health/signal-schema.ts';
import type { Controller } from '../rollout/controller.ts';
import type { AuthEnv } from './auth.ts';

export interface SignalIngestor {
  ingest(records: SignalRecord[]): { accepted: number };
}

/** The arms a flag's signals may name: treatment, control and its variants; undefined for an unknown flag. */
export type ArmsOf = (flag: string) => readonly string[] | undefined;

export function armsOf(controller: Controller): ArmsOf {
  return (flag) => {
    const f = controller.getFlag(flag);
    return f && ['treatment', 'control', ...(f.plan.variants ?? []).map((v) => v.name)];
  };
}

/**
 * A record for a flag with no plan, or an arm the flag does not have ("Control", "disabled"), is rejected:
 * every arm but control counts as treatment, so a typo would otherwise pollute the comparison.
 */
function checkArms(records: readonly SignalRecord[], arms: ArmsOf) {
  for (const [index, r] of records.entries()) {
    const known = arms(r.flag);
    if (!known) return { index, path: 'flag', reason: `no flag named "${r.flag}"` };
    if (!known.includes(r.arm)) {
      return { index, path: 'arm', reason: `"${r.arm}" is not an arm of ${r.flag} (${known.join(', ')})` };
    }
  }
  return null;
}

export function createSignalRoutes(deps: { signals: SignalIngestor; clock: Clock; arms: ArmsOf }) {
  const app = new Hono<AuthEnv>();
  app.post('/', async (c) => {
    const parsed = parseSignalBatch(await readJson(c), deps.clock());
    const batch = parsed.ok ? (checkArms(parsed.records, deps.arms) ?? parsed) : parsed;
    if (!('records' in batch)) {
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
