// The append-only decision and audit log: who, when, what, why, and the evidence.
import { dialectOf, type SqlDb } from '../db/sql.ts';

/** The PostgreSQL channel every replica listens on: each appended event is announced on it at its commit. */
export const changesChannel = 'rollgate_changes';

export interface NewEvent {
  at: number;
  flag: string | null;
  type: string;
  actor: string;
  reason?: string | null;
  data?: Record<string, unknown>;
}

export interface StoredEvent extends Required<NewEvent> {
  id: number;
}

interface Row {
  id: number;
  at: number;
  flag: string | null;
  type: string;
  actor: string;
  reason: string | null;
  data: string;
}

export interface EventQuery {
  flag?: string | undefined;
  type?: string | undefined;
  limit: number;
  /** Only events with an id below this (pagination cursor). */
  before?: number | undefined;
}

export type EventStore = ReturnType<typeof createEventStore>;

export function createEventStore(db: SqlDb) {
  const insert = db.prepare<Record<string, unknown>, { id: number }>(
    `INSERT INTO events (at, flag, type, actor, reason, data) VALUES (@at, @flag, @type, @actor, @reason, @data)
     RETURNING id`,
  );
  const query = db.prepare<Record<string, unknown>, Row>(
    `SELECT * FROM events
     WHERE (CAST(@flag AS TEXT) IS NULL OR flag = @flag) AND (CAST(@type AS TEXT) IS NULL OR type = @type)
       AND (CAST(@before AS BIGINT) IS NULL OR id < @before)
     ORDER BY id DESC LIMIT @limit`,
  );
  const prune = db.prepare('DELETE FROM events WHERE at < ? AND id < (SELECT MAX(id) FROM events)');
  // PostgreSQL delivers a NOTIFY only if, and when, its transaction commits: a rolled-back change announces nothing.
  const announce =
    dialectOf(db) === 'postgres'
      ? db.prepare<[string]>(`SELECT pg_notify('${changesChannel}', ?)`)
      : undefined;
  return {
    /** Drops events older than `before` (retention); the newest id, the served revision, never goes back. */
    prune(before: number): number {
      return prune.run(before).changes;
    },
    append(e: NewEvent): number {
      const row = insert.get({ ...e, reason: e.reason ?? null, data: JSON.stringify(e.data ?? {}) });
      const id = Number(row?.id);
      announce?.get(String(id));
      return id;
    },
    list(q: EventQuery): StoredEvent[] {
      return query
        .all({ flag: q.flag ?? null, type: q.type ?? null, before: q.before ?? null, limit: q.limit })
        .map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
    },
  };
}
