// SQL for the notification outbox: messages written with their transition, delivered at least once, then marked.
import type { SqlDb } from '../db/sql.ts';

export interface OutboxMessage {
  id: number;
  eventId: number;
  /** sha256 of the webhook URL: the URL itself (a Slack webhook, a token in a query) is a secret. */
  target: string;
  type: string;
  body: string;
  attempts: number;
  nextAttemptAt: number;
}

interface Row {
  id: number;
  event_id: number;
  target: string;
  type: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
}

export type OutboxStore = ReturnType<typeof createOutboxStore>;

export function createOutboxStore(db: SqlDb) {
  const insert = db.prepare(
    `INSERT INTO outbox (event_id, target, type, body, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const due = db.prepare<[number, number], Row>(
    `SELECT id, event_id, target, type, body, attempts, next_attempt_at FROM outbox
     WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
  );
  const nextDue = db.prepare<[], { at: number | null }>(
    `SELECT MIN(next_attempt_at) AS at FROM outbox WHERE status = 'pending'`,
  );
  const settle = db.prepare(
    `UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`,
  );
  const counts = db.prepare<[], { status: string; n: number }>(
    'SELECT status, COUNT(*) AS n FROM outbox GROUP BY status',
  );
  const prune = db.prepare(`DELETE FROM outbox WHERE status != 'pending' AND updated_at < ?`);
  return {
    /** Must run inside the transaction that writes the event it announces. */
    enqueue(m: { eventId: number; target: string; type: string; body: string }, now: number): void {
      insert.run(m.eventId, m.target, m.type, m.body, now, now, now);
    },
    due(now: number, limit: number): OutboxMessage[] {
      return due.all(now, limit).map((r) => ({
        id: r.id,
        eventId: r.event_id,
        target: r.target,
        type: r.type,
        body: r.body,
        attempts: r.attempts,
        nextAttemptAt: r.next_attempt_at,
      }));
    },
    /** When the earliest pending message is due, or null when none is pending. */
    nextDueAt(): number | null {
      return nextDue.get()?.at ?? null;
    },
    delivered(id: number, attempts: number, now: number): void {
      settle.run('delivered', attempts, now, null, now, id);
    },
    retryAt(id: number, attempts: number, at: number, error: string, now: number): void {
      settle.run('pending', attempts, at, error, now, id);
    },
    failed(id: number, attempts: number, error: string, now: number): void {
      settle.run('failed', attempts, now, error, now, id);
    },
    counts(): Record<'pending' | 'delivered' | 'failed', number> {
      const out = { pending: 0, delivered: 0, failed: 0 };
      for (const r of counts.all()) out[r.status as keyof typeof out] = r.n;
      return out;
    },
    /** Drops delivered and failed messages settled before `before`. */
    prune(before: number): number {
      return prune.run(before).changes;
    },
  };
}
