// SQL for audits: stored runs (the latest is what the admin API shows), and the flags SDKs use that no plan defines.
import type { SqlDb } from '../db/sql.ts';
import type { UnplannedFlag } from './blind-spots.ts';
import type { AuditStatus } from './check.ts';

export interface StoredAuditRun {
  id: number;
  at: number;
  trigger: string;
  status: AuditStatus;
  failing: string[];
  report: unknown;
}

interface RunRow {
  id: number;
  at: number;
  trigger: string;
  status: AuditStatus;
  failing: string;
  report: string;
}

export type AuditStore = ReturnType<typeof createAuditStore>;

export function createAuditStore(db: SqlDb) {
  const insert = db.prepare<unknown[], { id: number }>(
    'INSERT INTO audit_runs (at, trigger, status, failing, report) VALUES (?, ?, ?, ?, ?) RETURNING id',
  );
  const latest = db.prepare<[], RunRow>('SELECT * FROM audit_runs ORDER BY id DESC LIMIT 1');
  const prune = db.prepare('DELETE FROM audit_runs WHERE at < ? AND id < (SELECT MAX(id) FROM audit_runs)');
  const noteUnplanned = db.prepare(
    `INSERT INTO sdk_unplanned_flags (flag, evaluations, first_seen, last_seen) VALUES (?, ?, ?, ?)
     ON CONFLICT (flag) DO UPDATE SET evaluations = sdk_unplanned_flags.evaluations + excluded.evaluations,
       last_seen = excluded.last_seen`,
  );
  const unplanned = db.prepare<[number], UnplannedFlag>(
    `SELECT flag, evaluations, first_seen AS firstSeen, last_seen AS lastSeen FROM sdk_unplanned_flags
     WHERE last_seen >= ? ORDER BY evaluations DESC`,
  );
  const forgetUnplanned = db.prepare('DELETE FROM sdk_unplanned_flags WHERE last_seen < ?');
  const toRun = (r: RunRow): StoredAuditRun => ({
    ...r,
    failing: JSON.parse(r.failing) as string[],
    report: JSON.parse(r.report) as unknown,
  });
  return {
    /** Must run inside the transaction that also records any notification it causes. */
    insert(run: Omit<StoredAuditRun, 'id'>): number {
      const row = insert.get(
        run.at,
        run.trigger,
        run.status,
        JSON.stringify(run.failing),
        JSON.stringify(run.report),
      );
      return Number(row?.id);
    },
    latest(): StoredAuditRun | null {
      const row = latest.get();
      return row ? toRun(row) : null;
    },
    /** Counts SDK evaluations of flags without a plan, per flag. */
    noteUnplanned(counts: ReadonlyMap<string, number>, now: number): void {
      db.transaction(() => {
        for (const [flag, n] of counts) noteUnplanned.run(flag, Math.round(n), now, now);
      })();
    },
    unplanned(since: number): UnplannedFlag[] {
      return unplanned.all(since);
    },
    /** Retention: runs older than `before` (the newest always stays), unplanned flags not seen since `seenBefore`. */
    prune(before: number, seenBefore: number): number {
      return prune.run(before).changes + forgetUnplanned.run(seenBefore).changes;
    },
  };
}
