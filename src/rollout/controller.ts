// The write path for flags: applying loaded plans and every state transition, each with its event, atomically.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { advisoryLocks, takeTurns } from '../db/postgres.ts';
import { dialectOf, type SqlDb } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { planChecksum } from '../plans/checksum.ts';
import { loadPlanDir } from '../plans/load.ts';
import type { Plan } from '../plans/schema.ts';
import { formatProblem, type Problem, type SourcedPlan } from '../plans/validate.ts';
import { createEventStore, type NewEvent, type StoredEvent } from './event-store.ts';
import { fitStateToPlan, switchEdit } from './fit-state.ts';
import { flagViewOf, notificationFor, notifiedEvents } from './notification.ts';
import type { OutboxStore } from './outbox-store.ts';
import { createPlanStore, type StoredPlan } from './plan-store.ts';
import { type FlagState, initialState, servedPercent } from './state.ts';
import { createStateStore } from './state-store.ts';

export interface Flag {
  plan: Plan;
  file: string;
  state: FlagState;
  percent: number;
}

/** What a transition wants written: the next state and the event that explains it. */
export interface Decision {
  next: FlagState;
  event: Omit<NewEvent, 'at' | 'flag' | 'actor'>;
}

export type ReloadResult =
  | { ok: true; added: string[]; changed: string[]; removed: string[] }
  | { ok: false; problems: string[] };

export type Controller = ReturnType<typeof createController>;

/** The plan folder last applied to the database: a digest of every file and plan checksum, who, when. */
export interface AppliedFolder {
  digest: string;
  by: string;
  at: number;
}

/** The version a transition read is gone: someone else's write committed first. */
class LostRace extends Error {
  constructor(flag: string) {
    super(`flag "${flag}" changed concurrently`);
  }
}

/**
 * Ours or the engine's word for a lost race: SQLite refuses a write from a stale read snapshot (BUSY_SNAPSHOT),
 * PostgreSQL reports serialization failures and deadlocks; the transaction was rolled back either way.
 */
const lostRace = (err: unknown) =>
  err instanceof LostRace ||
  /^(SQLITE_BUSY_SNAPSHOT|40001|40P01)$/.test(String((err as { code?: unknown })?.code));

export function createController(deps: {
  db: SqlDb;
  clock: Clock;
  log: Logger;
  /** Whether a reload may remove every flag or more than half of them (ROLLGATE_ALLOW_MASS_REMOVAL). */
  allowMassRemoval?: boolean;
  /** Who applies plans, recorded beside the folder's digest so replicas can tell whose folder is in force. */
  replicaId?: string;
  /**
   * Webhook targets (ids): every notified transition is written to the outbox in its own transaction. `now` is
   * wall time, which the sender schedules by (the controller's clock may be a simulation's).
   */
  outbox?: { store: OutboxStore; targets: readonly string[]; now: () => number };
}) {
  const { db, clock, log } = deps;
  const plans = createPlanStore(db);
  const states = createStateStore(db);
  const events = createEventStore(db);
  const listeners = new Set<(flags: string[]) => void>();
  /** The digest of the plan folder this process last applied, and what the database says is in force. */
  let loadedFolder = '';
  const writeFolder = db.prepare<[string]>(
    `INSERT INTO meta (key, value) VALUES ('plans-folder', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
  const readFolder = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'plans-folder'");
  const eventListeners = new Set<(event: StoredEvent) => void>();

  // Side effects run only after the commit, so nobody sees a state that was rolled back.
  const emit = (flags: string[]) => {
    if (!flags.length) return;
    for (const listener of listeners) safely(() => listener(flags));
  };
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.error('change listener failed', { err });
    }
  };

  const toFlag = (p: StoredPlan, state: FlagState): Flag => ({
    plan: p.plan,
    file: p.file,
    state,
    percent: servedPercent(p.plan, state),
  });

  function getFlag(name: string): Flag | undefined {
    const p = plans.get(name);
    const state = p && states.get(name);
    return p && state ? toFlag(p, state) : undefined;
  }

  /**
   * Appends an event and, for a notified transition, its outbox messages: inside the caller's transaction, so
   * a notification exists exactly when its transition committed (and survives kill -9 until delivered).
   */
  function record(e: NewEvent): number {
    const id = events.append(e);
    const outbox = deps.outbox;
    if (outbox?.targets.length && e.flag && notifiedEvents.has(e.type)) {
      const flag = getFlag(e.flag);
      const stored: StoredEvent = {
        id,
        at: e.at,
        flag: e.flag,
        type: e.type,
        actor: e.actor,
        reason: e.reason ?? null,
        data: e.data ?? {},
      };
      const body = JSON.stringify(notificationFor(stored, flag && flagViewOf(flag)));
      for (const target of outbox.targets)
        outbox.store.enqueue({ eventId: id, target, type: e.type, body }, outbox.now());
    }
    return id;
  }

  function requireFlag(name: string): Flag {
    const flag = getFlag(name);
    if (!flag) throw new AppError('NOT_FOUND', `no flag named "${name}"`);
    return flag;
  }

  function listFlags(): Flag[] {
    const byName = new Map(states.list().map((s) => [s.flag, s]));
    return plans.list().flatMap((p) => {
      const s = byName.get(p.plan.name);
      return s ? [toFlag(p, s)] : [];
    });
  }

  /**
   * Runs one decision against the current stored state inside a transaction: state and event are written
   * together or not at all. `decide` returns null for "nothing to do" and may throw AppError (e.g. CONFLICT).
   */
  function transition(name: string, actor: string, decide: (flag: Flag) => Decision | null) {
    const attempt = db.transaction(() => {
      const flag = requireFlag(name);
      const decision = decide(flag);
      if (!decision) return { flag, eventId: null as number | null };
      const at = clock();
      const next = { ...decision.next, version: flag.state.version, updatedAt: at };
      if (!states.update(next)) throw new LostRace(name);
      const eventId = record({ ...decision.event, at, flag: name, actor });
      return { flag: requireFlag(name), eventId };
    });
    // Another process wrote the flag between our read and our write: decide again on what it wrote (a rollback
    // finds the flag rolled back and does nothing), a few times, then give up with a conflict.
    let result: ReturnType<typeof attempt> | undefined;
    for (let tries = 1; !result; tries++) {
      try {
        result = attempt();
      } catch (err) {
        if (!lostRace(err)) throw err;
        if (tries >= 3) throw new AppError('CONFLICT', `flag "${name}" changed concurrently; try again`);
      }
    }
    if (result.eventId !== null) {
      const [event] = events.list({ flag: name, limit: 1, before: result.eventId + 1 });
      if (event) for (const listener of eventListeners) safely(() => listener(event));
      log.info('flag transition', {
        flag: name,
        actor,
        eventId: result.eventId,
        phase: result.flag.state.phase,
        percent: result.flag.percent,
      });
      emit([name]);
    }
    return result;
  }

  function setEnabled(name: string, enabled: boolean, actor: string, reason?: string) {
    return transition(name, actor, (flag) =>
      flag.state.enabled === enabled
        ? null
        : {
            next: { ...flag.state, enabled },
            event: {
              type: enabled ? 'flag.enabled' : 'flag.disabled',
              reason: reason ?? null,
              data: { percentBefore: flag.percent },
            },
          },
    );
  }

  function applyPlans(loaded: SourcedPlan[], actor: string) {
    const now = clock();
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    const checksums = loaded.map(({ plan }) => planChecksum(plan));
    loadedFolder = createHash('sha256')
      .update(
        loaded
          .map(({ file }, i) => `${file}:${checksums[i]}`)
          .sort()
          .join('\n'),
      )
      .digest('hex');
    db.transaction(() => {
      // Replicas loading the same folder at once apply it one after another: the second finds the checksums equal.
      takeTurns(db, advisoryLocks.plans);
      const folder: AppliedFolder = { digest: loadedFolder, by: deps.replicaId ?? 'this process', at: now };
      writeFolder.run(JSON.stringify(folder));
      const seen = new Set<string>();
      for (const [i, { plan, file }] of loaded.entries()) {
        seen.add(plan.name);
        const checksum = checksums[i] as string;
        const before = plans.get(plan.name);
        if (before?.checksum === checksum && before.file === file) continue;
        plans.put(plan, file, checksum, now);
        const state = states.get(plan.name);
        if (!state) {
          states.insert(initialState(plan, now));
          events.append({ at: now, flag: plan.name, type: 'plan.added', actor, data: { file } });
          added.push(plan.name);
          continue;
        }
        events.append({
          at: now,
          flag: plan.name,
          type: before ? 'plan.changed' : 'plan.restored',
          actor,
          data: { file, checksum },
        });
        changed.push(plan.name);
        let current = state;
        const apply = (fixed: Decision | null) => {
          if (!fixed) return;
          if (fixed.next !== current) {
            const next = { ...fixed.next, version: current.version, updatedAt: now };
            if (!states.update(next))
              throw new AppError('CONFLICT', `flag "${plan.name}" changed concurrently`);
            current = { ...next, version: current.version + 1 };
          }
          record({ at: now, flag: plan.name, actor, ...fixed.event });
        };
        apply(fitStateToPlan(current, before?.plan, plan, now));
        apply(switchEdit(current, before?.plan, plan, file));
      }
      for (const p of plans.list()) {
        if (seen.has(p.plan.name)) continue;
        plans.markRemoved(p.plan.name, now);
        events.append({
          at: now,
          flag: p.plan.name,
          type: 'plan.removed',
          actor,
          reason: 'its file is gone',
          data: { file: p.file },
        });
        removed.push(p.plan.name);
      }
    })();
    emit([...added, ...changed, ...removed]);
    return { added, changed, removed };
  }

  /**
   * Recorded once for the whole reload and once against every flag it names (by the file a stored plan came
   * from, or the flags a mass removal would have removed), so each flag's log shows why its edit did not apply.
   */
  function rejectPlans(problems: Problem[], actor: string, named: string[] = []) {
    const lines = problems.map(formatProblem);
    const reason = `${lines.length} problem(s); the last good plans stay in force`;
    const files = new Set(problems.map((p) => p.file));
    const flags = new Set([
      ...named,
      ...plans
        .list()
        .filter((p) => files.has(p.file))
        .map((p) => p.plan.name),
    ]);
    const at = clock();
    db.transaction(() => {
      events.append({ at, flag: null, type: 'plans.rejected', actor, reason, data: { problems: lines } });
      for (const flag of flags)
        events.append({ at, flag, type: 'plans.rejected', actor, reason, data: { problems: lines } });
    })();
    log.warn('plan reload rejected; last good plans stay in force', { problems: lines });
    return lines;
  }

  /**
   * An empty, missing or half-written folder must not unserve every flag at once: a load that would remove all
   * active flags, or more than half of them, is a problem unless mass removal is allowed.
   */
  function massRemoval(loaded: SourcedPlan[], dir: string): { problem: Problem; removed: string[] } | null {
    if (deps.allowMassRemoval) return null;
    const names = new Set(loaded.map((p) => p.plan.name));
    const active = plans.list().map((p) => p.plan.name);
    const removed = active.filter((n) => !names.has(n));
    if (!removed.length || (removed.length < active.length && removed.length <= active.length / 2))
      return null;
    const shown = removed.slice(0, 10).join(', ') + (removed.length > 10 ? ', …' : '');
    return {
      removed,
      problem: {
        file: dir,
        path: '',
        reason: `would remove ${removed.length} of ${active.length} flags (${shown}); an empty, missing or half-written folder is refused — set ROLLGATE_ALLOW_MASS_REMOVAL=true if this is meant`,
      },
    };
  }

  /**
   * Runs reads against one committed state (SQLite's read transaction is a snapshot; PostgreSQL needs
   * REPEATABLE READ for it), so what they return belongs to one commit, as every replica will see it.
   */
  const snapshot = <T>(read: () => T): T =>
    db.transaction(() => {
      if (dialectOf(db) === 'postgres') db.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      return read();
    })();

  function reload(dir: string, actor: string): ReloadResult {
    const result = loadPlanDir(dir);
    if (!result.ok) return { ok: false, problems: rejectPlans(result.problems, actor) };
    const mass = massRemoval(result.plans, dir);
    if (mass) return { ok: false, problems: rejectPlans([mass.problem], actor, mass.removed) };
    const applied = applyPlans(result.plans, actor);
    if (applied.added.length + applied.changed.length + applied.removed.length > 0)
      log.info('plans applied', applied);
    return { ok: true, ...applied };
  }

  return {
    clock,
    events,
    snapshot,
    getFlag,
    requireFlag,
    listFlags,
    transition,
    setEnabled,
    applyPlans,
    /**
     * Whether the folder this process loaded is the one in force. Replicas that load different folders each
     * apply theirs when they start or reload; this is how one that lost notices, instead of silently serving.
     */
    planFolder(): { same: boolean; mine: string; applied: AppliedFolder | null } {
      const row = readFolder.get();
      const applied = row ? (JSON.parse(row.value) as AppliedFolder) : null;
      return { same: !applied || applied.digest === loadedFolder, mine: loadedFolder, applied };
    },
    rejectPlans,
    massRemoval,
    reload,
    /** Called after the commit of every transition, with its event (notifications, metrics). */
    onEvent(listener: (event: StoredEvent) => void) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onChange(listener: (flags: string[]) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
