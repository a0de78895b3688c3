// SQL for flag runtime state; every update carries the version it read (optimistic concurrency).
import type { SqlDb } from '../db/sql.ts';
import type { FlagState, Phase } from './state.ts';

interface Row {
  flag: string;
  enabled: number;
  phase: Phase;
  stage: number;
  stage_started_at: number | null;
  started_at: number | null;
  watch_since: number | null;
  phase_reason: string | null;
  hold_key: string | null;
  version: number;
  updated_at: number;
}

const toState = (r: Row): FlagState => ({
  flag: r.flag,
  enabled: r.enabled === 1,
  phase: r.phase,
  stage: r.stage,
  stageStartedAt: r.stage_started_at,
  startedAt: r.started_at,
  watchSince: r.watch_since,
  phaseReason: r.phase_reason,
  holdKey: r.hold_key,
  version: r.version,
  updatedAt: r.updated_at,
});

export type StateStore = ReturnType<typeof createStateStore>;

export function createStateStore(db: SqlDb) {
  const get = db.prepare<[string], Row>('SELECT * FROM flag_state WHERE flag = ?');
  const all = db.prepare<[], Row>('SELECT * FROM flag_state ORDER BY flag');
  const insert = db.prepare(
    `INSERT INTO flag_state (flag, enabled, phase, stage, stage_started_at, started_at, watch_since, phase_reason, hold_key, version, updated_at)
     VALUES (@flag, @enabled, @phase, @stage, @stageStartedAt, @startedAt, @watchSince, @phaseReason, @holdKey, @version, @updatedAt)`,
  );
  const update = db.prepare(
    `UPDATE flag_state SET enabled = @enabled, phase = @phase, stage = @stage, stage_started_at = @stageStartedAt,
       started_at = @startedAt, watch_since = @watchSince, phase_reason = @phaseReason, hold_key = @holdKey, version = version + 1, updated_at = @updatedAt
     WHERE flag = @flag AND version = @version`,
  );
  const params = (s: FlagState) => ({ ...s, enabled: s.enabled ? 1 : 0 });
  return {
    get(flag: string): FlagState | undefined {
      const row = get.get(flag);
      return row && toState(row);
    },
    list(): FlagState[] {
      return all.all().map(toState);
    },
    insert(state: FlagState): void {
      insert.run(params(state));
    },
    /** Writes `next` if the stored version is still `next.version`; false when someone else wrote first. */
    update(next: FlagState): boolean {
      return update.run(params(next)).changes === 1;
    },
  };
}
