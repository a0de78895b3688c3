// SQL for idempotency keys: the first answer to a keyed request, kept for a window so a retry is answered again.
import type { SqlDb } from '../db/sql.ts';

export interface StoredAnswer {
  status: number;
  body: unknown;
  bodyHash: string;
}

export interface IdempotencyKey {
  /** Endpoint and principal: one sender's keys never collide with another's. */
  scope: string;
  key: string;
  /** sha256 of the request body: the same key with another body is refused, never replayed. */
  bodyHash: string;
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;

export function createIdempotencyStore(db: SqlDb) {
  const find = db.prepare<[string, string, number], { body_hash: string; status: number; answer: string }>(
    'SELECT body_hash, status, answer FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at >= ?',
  );
  const put = db.prepare(
    `INSERT INTO idempotency_keys (scope, key, body_hash, status, answer, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash, status = excluded.status,
       answer = excluded.answer, created_at = excluded.created_at`,
  );
  const prune = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  return {
    /** The answer stored for this key within the window (`since` and later), if any. */
    find(k: IdempotencyKey, since: number): StoredAnswer | undefined {
      const row = find.get(k.scope, k.key, since);
      return row && { status: row.status, body: JSON.parse(row.answer), bodyHash: row.body_hash };
    },
    /** Must run in the transaction that stores what the answer acknowledges. */
    put(k: IdempotencyKey, status: number, body: unknown, now: number): void {
      put.run(k.scope, k.key, k.bodyHash, status, JSON.stringify(body), now);
    },
    prune(before: number): number {
      return prune.run(before).changes;
    },
  };
}
