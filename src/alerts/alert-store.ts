// SQL for received alerts: one row per firing episode and status, counting repeats, with what each did.
import type { SqlDb } from '../db/sql.ts';
import type { Alert, AlertSource, AlertStatus } from './schema.ts';

export const flagOutcomes = [
  'rolled-back',
  'already-rolled-back',
  'not-active',
  'resolved',
  'duplicate',
  'error',
] as const;
export type FlagOutcome = (typeof flagOutcomes)[number];

export interface FlagResult {
  flag: string;
  by: string;
  outcome: FlagOutcome;
  eventId: number | null;
}

export type AlertOutcome = 'no-match' | 'matched';

export interface StoredAlert {
  id: number;
  source: AlertSource;
  fingerprint: string;
  status: AlertStatus;
  startsAt: number;
  alertname: string | null;
  summary: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** What the first finished receipt did; null until one finished. */
  matched: FlagResult[] | null;
  /** Null while no receipt finished (a rollback failed): the next repeat acts again. */
  outcome: AlertOutcome | null;
  receivedAt: number;
  lastReceivedAt: number;
  timesReceived: number;
}

interface Row {
  id: number;
  source: AlertSource;
  fingerprint: string;
  status: AlertStatus;
  starts_at: number;
  alertname: string | null;
  summary: string | null;
  labels: string;
  annotations: string;
  matched: string | null;
  outcome: AlertOutcome | null;
  received_at: number;
  last_received_at: number;
  times_received: number;
}

const toStored = (r: Row): StoredAlert => ({
  id: r.id,
  source: r.source,
  fingerprint: r.fingerprint,
  status: r.status,
  startsAt: r.starts_at,
  alertname: r.alertname,
  summary: r.summary,
  labels: JSON.parse(r.labels),
  annotations: JSON.parse(r.annotations),
  matched: r.matched === null ? null : JSON.parse(r.matched),
  outcome: r.outcome,
  receivedAt: r.received_at,
  lastReceivedAt: r.last_received_at,
  timesReceived: r.times_received,
});

/** One firing episode, as a forced start records what it overrode. */
export const episodeKey = (a: { source: string; fingerprint: string; startsAt: number }) =>
  `${a.source}/${a.fingerprint}/${new Date(a.startsAt).toISOString()}`;

/** An alert with its episode start settled: the key is (source, fingerprint, startsAt, status). */
export type Episode = Alert & { startsAt: number };

export type AlertStore = ReturnType<typeof createAlertStore>;

export function createAlertStore(db: SqlDb) {
  const upsert = db.prepare<Record<string, unknown>, Row>(
    `INSERT INTO alerts (source, fingerprint, status, starts_at, alertname, summary, labels, annotations,
       matched, outcome, received_at, last_received_at)
     VALUES (@source, @fingerprint, @status, @startsAt, @alertname, @summary, @labels, @annotations,
       @matched, @outcome, @now, @now)
     ON CONFLICT (source, fingerprint, starts_at, status) DO UPDATE SET
       last_received_at = excluded.last_received_at, times_received = alerts.times_received + 1,
       matched = coalesce(excluded.matched, alerts.matched), outcome = coalesce(excluded.outcome, alerts.outcome)
     RETURNING *`,
  );
  const one = db.prepare<Record<string, unknown>, Row>(
    `SELECT * FROM alerts
     WHERE source = @source AND fingerprint = @fingerprint AND starts_at = @startsAt AND status = @status`,
  );
  // The latest firing episode of this alert that no resolved notification has closed yet.
  const open = db.prepare<[string, string], { starts_at: number }>(
    `SELECT f.starts_at FROM alerts f
     WHERE f.source = ? AND f.fingerprint = ? AND f.status = 'firing' AND NOT EXISTS (
       SELECT 1 FROM alerts r WHERE r.source = f.source AND r.fingerprint = f.fingerprint
         AND r.starts_at = f.starts_at AND r.status = 'resolved')
     ORDER BY f.id DESC LIMIT 1`,
  );
  // Firing episodes heard from recently that no resolved notification has closed.
  const firing = db.prepare<[number], Row>(
    `SELECT f.* FROM alerts f
     WHERE f.status = 'firing' AND f.last_received_at >= ? AND NOT EXISTS (
       SELECT 1 FROM alerts r WHERE r.source = f.source AND r.fingerprint = f.fingerprint
         AND r.starts_at = f.starts_at AND r.status = 'resolved')
     ORDER BY f.id DESC LIMIT 1000`,
  );
  const recent = db.prepare<Record<string, unknown>, Row>(
    'SELECT * FROM alerts WHERE (CAST(@before AS BIGINT) IS NULL OR id < @before) ORDER BY id DESC LIMIT @limit',
  );
  const prune = db.prepare('DELETE FROM alerts WHERE last_received_at < ?');
  return {
    /** Drops alerts last received before `before` (retention). */
    prune(before: number): number {
      return prune.run(before).changes;
    },
    find(alert: Episode): StoredAlert | undefined {
      const row = one.get({
        source: alert.source,
        fingerprint: alert.fingerprint,
        startsAt: alert.startsAt,
        status: alert.status,
      });
      return row && toStored(row);
    },
    /** Records one receipt of an episode, with what it did when it acted; `timesReceived` is 1 for the first. */
    record(
      alert: Episode,
      now: number,
      handled?: { matched: FlagResult[]; outcome: AlertOutcome | null },
    ): StoredAlert {
      const row = upsert.get({
        source: alert.source,
        fingerprint: alert.fingerprint,
        status: alert.status,
        startsAt: alert.startsAt,
        alertname: alert.labels.alertname ?? null,
        summary: alert.summary,
        labels: JSON.stringify(alert.labels),
        annotations: JSON.stringify(alert.annotations),
        matched: handled ? JSON.stringify(handled.matched) : null,
        outcome: handled?.outcome ?? null,
        now,
      });
      if (!row) throw new Error('alert upsert returned no row');
      return toStored(row);
    },
    /**
     * Episodes still firing: never resolved, and received within `since` (an alert whose sender went quiet
     * without resolving it stops counting after the firing TTL, so it cannot block a flag for ever).
     */
    firing(since: number): StoredAlert[] {
      return firing.all(since).map(toStored);
    },
    /** For senders that give no start time: the episode still open for this alert, if any. */
    openEpisodeStart(source: AlertSource, fingerprint: string): number | undefined {
      return open.get(source, fingerprint)?.starts_at;
    },
    list(q: { limit: number; before?: number | undefined }): StoredAlert[] {
      return recent.all({ limit: q.limit, before: q.before ?? null }).map(toStored);
    },
  };
}
