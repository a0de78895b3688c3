// One contract for every store, run against SQLite and PostgreSQL alike: the same cases, the same expectations.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlertStore, type Episode } from '../../src/alerts/alert-store.ts';
import { createAuditStore } from '../../src/audit/audit-store.ts';
import { migrate } from '../../src/db/migrate.ts';
import { dialectOf } from '../../src/db/sql.ts';
import { createFoldStore } from '../../src/health/fold-store.ts';
import { createIdempotencyStore } from '../../src/health/idempotency-store.ts';
import { hourMs, minuteMs } from '../../src/health/series.ts';
import { createSignalStore } from '../../src/health/signal-store.ts';
import { silentLogger } from '../../src/log.ts';
import { migrationsDir, migrationsPgDir } from '../../src/main.ts';
import { loadPlanDir } from '../../src/plans/load.ts';
import { createController } from '../../src/rollout/controller.ts';
import { createEventStore } from '../../src/rollout/event-store.ts';
import { createOutboxStore } from '../../src/rollout/outbox-store.ts';
import { createPlanStore } from '../../src/rollout/plan-store.ts';
import { initialState } from '../../src/rollout/state.ts';
import { createStateStore } from '../../src/rollout/state-store.ts';
import { createSdkInstanceStore, createSdkRegistry } from '../../src/sdk/instances.ts';
import { type DbUnderTest, dbBackends } from '../helpers/db-backends.ts';
import { fixturePlansDir } from '../helpers/rollgate.ts';

const backends = await dbBackends('the store contract on PostgreSQL');
const t0 = Date.parse('2026-11-02T00:00:00Z');
const loaded = loadPlanDir(fixturePlansDir);
if (!loaded.ok) throw new Error('fixture plans do not load');
const plans = loaded.plans;
const first = plans[0]?.plan;
if (!first) throw new Error('no fixture plan');

describe.each(backends)('stores on $name', (backend) => {
  const opened: DbUnderTest[] = [];
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });
  const open = async () => {
    const d = await backend.open();
    opened.push(d);
    return d;
  };

  it('applies its migrations once, checksummed, and a second run applies nothing', async () => {
    const { db } = await open();
    const dir = dialectOf(db) === 'postgres' ? migrationsPgDir : migrationsDir;
    expect(migrate(db, dir).applied).toEqual([]);
    const rows = db
      .prepare<[], { name: string; checksum: string }>(
        'SELECT name, checksum FROM schema_migrations ORDER BY id',
      )
      .all();
    // Every SQLite migration has its PostgreSQL twin under the same name, and both engines applied them all.
    const names = (d: string) =>
      fs
        .readdirSync(d)
        .filter((f) => f.endsWith('.sql'))
        .sort();
    expect(names(migrationsPgDir)).toEqual(names(migrationsDir));
    expect(rows.map((r) => r.name)).toEqual(names(migrationsDir));
    for (const r of rows) expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stores plans, lists only active ones, and restores a removed one on put', async () => {
    const { db } = await open();
    const store = createPlanStore(db);
    store.put(first, 'a.yaml', 'c1', t0);
    expect(store.get(first.name)).toEqual({ plan: first, file: 'a.yaml', checksum: 'c1', loadedAt: t0 });
    store.markRemoved(first.name, t0 + 1);
    expect(store.get(first.name)).toBeUndefined();
    expect(store.list()).toEqual([]);
    store.put(first, 'b.yaml', 'c2', t0 + 2);
    expect(store.list().map((p) => [p.file, p.checksum, p.loadedAt])).toEqual([['b.yaml', 'c2', t0 + 2]]);
  });

  it('writes a state only at the version it read: a stale version loses, and the winner bumped it once', async () => {
    const d = await open();
    createPlanStore(d.db).put(first, 'a.yaml', 'c1', t0);
    const states = createStateStore(d.db);
    const initial = initialState(first, t0);
    states.insert(initial);
    expect(states.get(first.name)).toEqual(initial);
    // Two connections read version 1; the first write wins, the second finds the version moved on.
    const other = createStateStore(d.connect());
    const mine = states.get(first.name);
    const theirs = other.get(first.name);
    if (!mine || !theirs) throw new Error('state missing');
    expect(other.update({ ...theirs, enabled: false, updatedAt: t0 + 1 })).toBe(true);
    expect(states.update({ ...mine, stage: 3, updatedAt: t0 + 2 })).toBe(false);
    const stored = states.get(first.name);
    expect(stored).toMatchObject({
      version: initial.version + 1,
      enabled: false,
      stage: 0,
      updatedAt: t0 + 1,
    });
    expect(states.list()).toEqual([stored]);
  });

  it('decides again when another connection changes the flag under a transition, and records it once', async () => {
    const d = await open();
    const controller = createController({ db: d.db, clock: () => t0, log: silentLogger });
    controller.applyPlans(plans, 'test');
    const rival = createController({ db: d.connect(), clock: () => t0, log: silentLogger });
    const name = first.name;
    const before = controller.requireFlag(name).state.version;
    // While this transition decides the first time, the rival disables the flag and commits. Our write then
    // finds the version moved on (PostgreSQL) or our snapshot stale (SQLite): we decide again, on its state.
    let decisions = 0;
    const result = controller.transition(name, 'me', (flag) => {
      if (++decisions === 1) rival.setEnabled(name, false, 'rival');
      return flag.state.enabled
        ? { next: { ...flag.state, enabled: false }, event: { type: 'flag.disabled' } }
        : null;
    });
    expect(decisions).toBe(2);
    expect(result.eventId).toBeNull();
    expect(controller.requireFlag(name).state).toMatchObject({ enabled: false, version: before + 1 });
    const disabled = controller.events.list({ flag: name, type: 'flag.disabled', limit: 10 });
    expect(disabled.map((e) => e.actor)).toEqual(['rival']);
  });

  it('gives up with a conflict when the flag keeps changing under it', async () => {
    const d = await open();
    const controller = createController({ db: d.db, clock: () => t0, log: silentLogger });
    controller.applyPlans(plans, 'test');
    const rival = createController({ db: d.connect(), clock: () => t0, log: silentLogger });
    const name = first.name;
    let flips = 0;
    expect(() =>
      controller.transition(name, 'me', (flag) => {
        rival.setEnabled(name, ++flips % 2 === 0, 'rival');
        return { next: { ...flag.state, stage: 9 }, event: { type: 'test.stage' } };
      }),
    ).toThrow(/changed concurrently/);
    expect(flips).toBe(3);
    expect(controller.events.list({ flag: name, type: 'test.stage', limit: 10 })).toEqual([]);
    expect(controller.events.list({ flag: name, type: 'flag.disabled', limit: 10 })).toHaveLength(2);
  });

  it('appends events with growing ids, filters and pages them, and prunes all but the newest', async () => {
    const { db } = await open();
    const events = createEventStore(db);
    const ids = [
      events.append({ at: t0, flag: 'a', type: 'x', actor: 'me', data: { n: 1 } }),
      events.append({ at: t0 + 1, flag: 'b', type: 'x', actor: 'me' }),
      events.append({ at: t0 + 2, flag: 'a', type: 'y', actor: 'you', reason: 'because' }),
      events.append({ at: t0 + 3, flag: null, type: 'x', actor: 'me' }),
    ];
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(4);
    expect(events.list({ flag: 'a', limit: 10 }).map((e) => e.id)).toEqual([ids[2], ids[0]]);
    expect(events.list({ type: 'x', limit: 2 }).map((e) => e.id)).toEqual([ids[3], ids[1]]);
    expect(events.list({ limit: 10, before: ids[2] }).map((e) => e.id)).toEqual([ids[1], ids[0]]);
    expect(events.list({ flag: 'a', type: 'x', limit: 10 })[0]).toEqual({
      id: ids[0],
      at: t0,
      flag: 'a',
      type: 'x',
      actor: 'me',
      reason: null,
      data: { n: 1 },
    });
    expect(events.prune(t0 + 10)).toBe(3);
    expect(events.list({ limit: 10 }).map((e) => e.id)).toEqual([ids[3]]);
  });

  it('accumulates signal upserts, keeps unknown variance unknown, and stores a batch whole or not at all', async () => {
    const { db } = await open();
    const store = createSignalStore(db);
    store.writeBatch((w) => {
      w.bucket('f', t0, 'latency', 'control', 10, 300, 9000);
      w.bucket('f', t0, 'latency', 'control', 5, 100, 2000);
      w.bucket('f', t0, 'errors', 'treatment', 100, 2, null);
      w.bucket('f', t0, 'errors', 'treatment', 100, 3, 1);
      w.histogram('f', t0, 'control', 20, 4);
      w.histogram('f', t0, 'control', Number.POSITIVE_INFINITY, 1);
      w.histogram('f', t0, 'control', 20, 2);
    });
    expect(() =>
      store.writeBatch((w) => {
        w.bucket('f', t0, 'latency', 'control', 1000, 1000, 1000);
        throw new Error('half a batch');
      }),
    ).toThrow('half a batch');
    const series = store.series('f', t0);
    expect(series.points).toEqual([
      { start: t0, width: minuteMs, arm: 'treatment', metric: 'errors', count: 200, sum: 5, sumsq: null },
      { start: t0, width: minuteMs, arm: 'control', metric: 'latency', count: 15, sum: 400, sumsq: 11000 },
    ]);
    expect(series.histograms).toEqual([
      { start: t0, width: minuteMs, arm: 'control', le: 20, count: 6 },
      { start: t0, width: minuteMs, arm: 'control', le: Number.POSITIVE_INFINITY, count: 1 },
    ]);
    expect(store.series('f', t0 + 1).points).toEqual([]);
  });

  it('rolls old minutes up into hours with the same totals and drops what is past retention', async () => {
    const { db } = await open();
    const store = createSignalStore(db);
    store.writeBatch((w) => {
      for (let m = 0; m < 90; m++) {
        w.bucket('f', t0 + m * minuteMs, 'errors', 'control', 100, 1, m === 5 ? null : 1);
        w.histogram('f', t0 + m * minuteMs, 'control', 50, 2);
      }
      w.bucket('f', t0 - 48 * hourMs, 'errors', 'control', 7, 7, 7);
    });
    const result = store.prune(t0 + 3 * hourMs, { rawRetentionMs: hourMs, retentionMs: 24 * hourMs });
    // Minutes of hours 0 and 1 roll up (the cutoff is hour 2); the two-day-old minute is first rolled, then dropped.
    expect(result).toEqual({ rolledUp: 3, rawDropped: 91, dropped: 1 });
    const series = store.series('f', 0);
    expect(series.points).toEqual([
      { start: t0, width: hourMs, arm: 'control', metric: 'errors', count: 6000, sum: 60, sumsq: null },
      {
        start: t0 + hourMs,
        width: hourMs,
        arm: 'control',
        metric: 'errors',
        count: 3000,
        sum: 30,
        sumsq: 30,
      },
    ]);
    expect(series.histograms).toEqual([
      { start: t0, width: hourMs, arm: 'control', le: 50, count: 120 },
      { start: t0 + hourMs, width: hourMs, arm: 'control', le: 50, count: 60 },
    ]);
  });

  it('answers an idempotency key within its window, replaces it after, and prunes old keys', async () => {
    const { db } = await open();
    const keys = createIdempotencyStore(db);
    const k = { scope: 'signals:ingest', key: 'k1', bodyHash: 'h1' };
    db.transaction(() => keys.put(k, 200, { accepted: 3 }, t0))();
    expect(keys.find(k, t0 - 1)).toEqual({ status: 200, body: { accepted: 3 }, bodyHash: 'h1' });
    expect(keys.find({ ...k, scope: 'other' }, t0 - 1)).toBeUndefined();
    expect(keys.find(k, t0 + 1)).toBeUndefined();
    keys.put({ ...k, bodyHash: 'h2' }, 422, { error: 'no' }, t0 + 5);
    expect(keys.find(k, t0)).toEqual({ status: 422, body: { error: 'no' }, bodyHash: 'h2' });
    expect(keys.prune(t0 + 6)).toBe(1);
    expect(keys.find(k, 0)).toBeUndefined();
  });

  it('keeps one alert row per episode and status, counting repeats, and knows which episodes still fire', async () => {
    const { db } = await open();
    const alerts = createAlertStore(db);
    const firing: Episode = {
      source: 'alertmanager',
      fingerprint: 'fp1',
      status: 'firing',
      startsAt: t0,
      labels: { alertname: 'HighErrors', flag: 'f' },
      annotations: {},
      summary: 'errors are high',
    } as Episode;
    const one = alerts.record(firing, t0 + 1);
    expect(one).toMatchObject({ timesReceived: 1, outcome: null, matched: null, alertname: 'HighErrors' });
    const matched = [{ flag: 'f', by: 'label', outcome: 'rolled-back' as const, eventId: 7 }];
    const two = alerts.record(firing, t0 + 2, { matched, outcome: 'matched' });
    expect(two).toMatchObject({
      id: one.id,
      timesReceived: 2,
      outcome: 'matched',
      matched,
      lastReceivedAt: t0 + 2,
    });
    // A later receipt without a result keeps what the first finished one did.
    expect(alerts.record(firing, t0 + 3)).toMatchObject({ timesReceived: 3, outcome: 'matched', matched });
    expect(alerts.find(firing)?.timesReceived).toBe(3);
    expect(alerts.openEpisodeStart('alertmanager', 'fp1')).toBe(t0);
    expect(alerts.firing(t0).map((a) => a.id)).toEqual([one.id]);
    const resolved = alerts.record({ ...firing, status: 'resolved' }, t0 + 4);
    expect(resolved.id).not.toBe(one.id);
    expect(alerts.firing(t0)).toEqual([]);
    expect(alerts.openEpisodeStart('alertmanager', 'fp1')).toBeUndefined();
    expect(alerts.list({ limit: 1 }).map((a) => a.id)).toEqual([resolved.id]);
    expect(alerts.list({ limit: 5, before: resolved.id }).map((a) => a.id)).toEqual([one.id]);
    expect(alerts.prune(t0 + 4)).toBe(1);
    expect(alerts.list({ limit: 5 }).map((a) => a.id)).toEqual([resolved.id]);
  });

  it('holds outbox messages until due, retries, settles them, counts and prunes', async () => {
    const { db } = await open();
    const outbox = createOutboxStore(db);
    expect(outbox.nextDueAt()).toBeNull();
    db.transaction(() => {
      outbox.enqueue({ eventId: 1, target: 't1', type: 'flag.rolled-back', body: '{"a":1}' }, t0);
      outbox.enqueue({ eventId: 1, target: 't2', type: 'flag.rolled-back', body: '{"a":1}' }, t0 + 10);
    })();
    expect(outbox.nextDueAt()).toBe(t0);
    const due = outbox.due(t0, 10);
    expect(due).toEqual([
      {
        id: due[0]?.id,
        eventId: 1,
        target: 't1',
        type: 'flag.rolled-back',
        body: '{"a":1}',
        attempts: 0,
        nextAttemptAt: t0,
      },
    ]);
    const [a] = due;
    if (!a) throw new Error('nothing due');
    outbox.retryAt(a.id, 1, t0 + 100, 'HTTP 500', t0);
    expect(outbox.due(t0 + 50, 10).map((m) => m.target)).toEqual(['t2']);
    const b = outbox.due(t0 + 50, 10)[0];
    if (!b) throw new Error('nothing due');
    outbox.delivered(b.id, 1, t0 + 50);
    expect(outbox.due(t0 + 100, 10)).toMatchObject([{ id: a.id, attempts: 1 }]);
    outbox.failed(a.id, 5, 'gave up', t0 + 100);
    expect(outbox.counts()).toEqual({ pending: 0, delivered: 1, failed: 1 });
    expect(outbox.nextDueAt()).toBeNull();
    expect(outbox.prune(t0 + 60)).toBe(1);
    expect(outbox.counts()).toEqual({ pending: 0, delivered: 0, failed: 1 });
  });

  it('answers a failing statement with the engine’s error and leaves the transaction rolled back', async () => {
    const { db } = await open();
    const events = createEventStore(db);
    expect(() =>
      db.transaction(() => {
        events.append({ at: t0, flag: 'a', type: 'x', actor: 'me' });
        db.prepare('INSERT INTO nowhere VALUES (1)').run();
      })(),
    ).toThrow(/nowhere/);
    expect(events.list({ limit: 10 })).toEqual([]);
    // Nested transactions are savepoints: the inner one rolls back alone.
    db.transaction(() => {
      events.append({ at: t0, flag: 'a', type: 'outer', actor: 'me' });
      expect(() =>
        db.transaction(() => {
          events.append({ at: t0, flag: 'a', type: 'inner', actor: 'me' });
          throw new Error('inner fails');
        })(),
      ).toThrow('inner fails');
    })();
    expect(events.list({ limit: 10 }).map((e) => e.type)).toEqual(['outer']);
  });

  it('keeps segmented signals beside the whole population, values in order of arrival, and rolls them up', async () => {
    const { db } = await open();
    const store = createSignalStore(db);
    store.writeBatch((w) => {
      w.bucket('f', t0, 'errors', 'treatment', 100, 5, null, 'eu');
      w.bucket('f', t0 + minuteMs, 'errors', 'treatment', 50, 1, null, 'us');
      w.bucket('f', t0 + minuteMs, 'errors', 'treatment', 50, 2, null, 'eu');
    });
    expect(store.series('f', t0).points.map((p) => p.count)).toEqual([100, 100]);
    const seg = store.segmentSeries('f', t0);
    expect(seg.values).toEqual(['eu', 'us']);
    expect(seg.points.map((p) => [p.segment, p.count, p.sum])).toEqual([
      ['eu', 100, 5],
      ['eu', 50, 2],
      ['us', 50, 1],
    ]);
    store.prune(t0 + 3 * hourMs, { rawRetentionMs: hourMs, retentionMs: 10 * 24 * hourMs });
    const hours = store.segmentSeries('f', t0);
    expect(hours.points.map((p) => [p.segment, p.width, p.count, p.sum])).toEqual([
      ['eu', hourMs, 150, 7],
      ['us', hourMs, 50, 1],
    ]);
  });

  it('flushes SDK instances and loads them back, newest last', async () => {
    const { db } = await open();
    let now = t0;
    const registry = createSdkRegistry({ now: () => now });
    registry.fetched({ 'unleash-instanceid': 'a', 'unleash-appname': 'web' }, 7, '"e7"', 'poll');
    now += 5_000;
    registry.fetched({ 'unleash-instanceid': 'b', 'unleash-appname': 'web' }, 8, '"e8"', 'poll');
    const store = createSdkInstanceStore(db);
    expect(store.flush(registry, now)).toBe(2);
    now += 5_000;
    registry.fetched({ 'unleash-instanceid': 'a', 'unleash-appname': 'web' }, 9, '"e9"', 'poll');
    expect(store.flush(registry, now)).toBe(1);
    const loaded = store.load(10);
    // requests (migration 011) round-trips: a counted twice, b once.
    expect(loaded.map((i) => [i.instanceId, i.revision, i.etag, i.requests])).toEqual([
      ['b', 8, '"e8"', 1],
      ['a', 9, '"e9"', 2],
    ]);
  });

  it('stores audit runs with growing ids and counts evaluations of unplanned flags', async () => {
    const { db } = await open();
    const audits = createAuditStore(db);
    const run = {
      at: t0,
      trigger: 'request',
      status: 'fail',
      failing: ['power:f:1'],
      report: { checks: [] },
    } as const;
    const a = audits.insert({ ...run, failing: [...run.failing] });
    const b = audits.insert({ ...run, at: t0 + 1, status: 'pass', failing: [] });
    expect(b).toBeGreaterThan(a);
    expect(audits.latest()).toMatchObject({ id: b, status: 'pass', failing: [] });
    audits.noteUnplanned(new Map([['ghost', 3]]), t0);
    audits.noteUnplanned(new Map([['ghost', 4]]), t0 + 10);
    expect(audits.unplanned(t0)).toEqual([
      { flag: 'ghost', evaluations: 7, firstSeen: t0, lastSeen: t0 + 10 },
    ]);
  });

  it("replaces a flag's fold rows whole, and keeps signals for frozen minutes apart as late", async () => {
    const { db } = await open();
    const folds = createFoldStore(db);
    const row = (stream: string, foldedUntil: number) => ({
      flag: 'f',
      stream,
      validKey: 'k1',
      foldedUntil,
      state: '{}',
    });
    folds.save([row('*', t0), row('0:errors', t0)], t0);
    folds.save([row('*', t0 + minuteMs)], t0 + minuteMs);
    expect(folds.load()).toEqual([row('*', t0 + minuteMs)]);

    const store = createSignalStore(db);
    store.freeze('f', t0 + minuteMs);
    store.writeBatch((w) => {
      w.bucket('f', t0, 'errors', 'treatment', 10, 1, null);
      w.bucket('f', t0, 'errors', 'treatment', 10, 2, null);
      w.bucket('f', t0 + 5 * minuteMs, 'errors', 'treatment', 10, 3, null);
    });
    expect(store.late('f', t0)).toBe(2);
    expect(store.series('f', t0).points.map((p) => [p.start, p.sum])).toEqual([[t0 + 5 * minuteMs, 3]]);
  });

  it('tells a replica that does not assess which minutes the leader folded, so its signals for them are late', async () => {
    const d = await open();
    const follower = createSignalStore(d.connect());
    const foldedUntil = t0 + 2 * minuteMs;
    createFoldStore(d.db).save([{ flag: 'f', stream: '*', validKey: 'k', foldedUntil, state: '{}' }], t0);
    follower.reloadFrozen();
    follower.writeBatch((w) => {
      w.bucket('f', t0 + minuteMs, 'errors', 'control', 10, 1, null);
      w.bucket('f', foldedUntil, 'errors', 'control', 10, 2, null);
    });
    expect(follower.late('f', t0)).toBe(1);
    expect(
      createSignalStore(d.db)
        .series('f', t0)
        .points.map((p) => [p.start, p.sum]),
    ).toEqual([[foldedUntil, 2]]);
  });
});
