// SDK reach: the instance registry fed by real requests, the audit check over it, and its bounds against hostile senders.
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sdkReachChecks } from '../../src/audit/sdk-reach.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { migrationsDir } from '../../src/main.ts';
import { createSdkInstanceStore, createSdkRegistry } from '../../src/sdk/instances.ts';
import { buildRollgate, makeFlagsDir, tempDir } from '../helpers/rollgate.ts';
import { type SdkServer, sdkPlanFiles, startSdkServer } from '../helpers/sdk-server.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.stop();
});

function rollgate() {
  const t = buildRollgate({ flagsDir: makeFlagsDir(sdkPlanFiles) });
  open.push(t.rg);
  return t;
}

const poller = (instanceId: string, extra: Record<string, string> = {}) => ({
  'unleash-appname': 'checkout',
  'unleash-instanceid': instanceId,
  'unleash-interval': '1000',
  'unleash-sdk': 'unleash-node-sdk:6.12.1',
  ...extra,
});

describe('the sdk-reach check', () => {
  it('fails an instance silent for more than 3× its refresh interval and passes one that fetched within it', async () => {
    const { rg, clock, call } = rollgate();
    const poll = (id: string) =>
      call('GET', '/api/client/features', { token: 'client-secret-0123456789', headers: poller(id) });
    // Two polls each: an instance is judged once it made two requests.
    expect((await poll('pod-a')).status).toBe(200);
    expect((await poll('pod-a')).status).toBe(200);
    clock.advance(2000);
    expect((await poll('pod-b')).status).toBe(200);
    expect((await poll('pod-b')).status).toBe(200);
    clock.advance(2000);
    const plans = rg.controller.listFlags().map((f) => f.plan);
    const checks = sdkReachChecks({ instances: rg.sdks.list(), plans, now: clock() });
    const bySubject = new Map(checks.map((c) => [c.subject, c]));
    const stale = bySubject.get('checkout/pod-a');
    expect(stale?.status).toBe('fail');
    expect(stale?.summary).toContain('last fetched 4 s ago');
    expect(stale?.summary).toContain('more than 3× its 1 s refresh interval (3 s)');
    expect(stale?.numbers).toMatchObject({ secondsSinceFetch: 4, limitSeconds: 3, connection: 'poll' });
    expect(stale?.action).not.toBe('');
    const fresh = bySubject.get('checkout/pod-b');
    expect(fresh?.status).toBe('pass');
    expect(fresh?.numbers.revision).toBe(rg.served.current().revision);
    expect(fresh?.action).toBe('');
    // Both fetched every plan (no namePrefix): no plan is unfetched.
    expect(checks.filter((c) => c.check === 'blind-spot.plan-not-fetched')).toEqual([]);
  });

  it('warns for plans no SDK fetched in 7 days, honouring namePrefix, and when no instance was seen lately', async () => {
    const { rg, clock, call } = rollgate();
    for (let n = 0; n < 2; n++) {
      const res = await call('GET', '/api/client/features?namePrefix=demo.', {
        token: 'client-secret-0123456789',
        headers: poller('pod-demo'),
      });
      expect(res.status).toBe(200);
    }
    const plans = rg.controller.listFlags().map((f) => f.plan);
    const unfetched = (now: number) =>
      sdkReachChecks({ instances: rg.sdks.list(), plans, now })
        .filter((c) => c.check === 'blind-spot.plan-not-fetched')
        .map((c) => c.subject)
        .sort();
    const xcheck = plans.map((p) => p.name).filter((n) => n.startsWith('xcheck.'));
    expect(unfetched(clock())).toEqual(xcheck.sort());
    const later = clock() + 8 * 86_400_000;
    expect(unfetched(later)).toEqual(plans.map((p) => p.name).sort());
    const nobody = sdkReachChecks({ instances: rg.sdks.list(), plans, now: later }).find(
      (c) => c.check === 'sdk-reach',
    );
    expect(nobody).toMatchObject({ status: 'warn', numbers: { instancesRecent: 0, instancesKnown: 1 } });
  });

  it('passes a streaming instance whose stream is open, whatever its poll interval', () => {
    const sdks = createSdkRegistry({ now: () => 1_000_000 });
    sdks.streaming({ 'unleash-instanceid': 'stream-1', 'unleash-appname': 'api' }, true);
    sdks.fetched({ 'unleash-instanceid': 'stream-1', 'unleash-appname': 'api' }, 7, '"x"', 'stream');
    const [check] = sdkReachChecks({ instances: sdks.list(), plans: [], now: 1_000_000 + 3_000_000 });
    expect(check).toMatchObject({ status: 'pass', subject: 'api/stream-1', numbers: { streamOpen: true } });
  });
});

/** A raw request: header bytes as given (latin1), as a hostile sender would send them; within node's 16 KiB header limit. */
function rawPoll(server: SdkServer, headers: Record<string, string>) {
  return new Promise<number>((resolve, reject) => {
    const url = new URL('/api/client/features', server.url);
    const req = http.request(url, { headers: { authorization: server.tokens.client, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile SDK identities', () => {
  it('registers no malformed or overlong name, answers the request anyway, and cuts versions and intervals', async () => {
    const server = await startSdkServer();
    open.push(server);
    const hostile = [
      { 'unleash-appname': `app-${'a'.repeat(4000)}`, 'unleash-instanceid': 'pod-1' },
      { 'unleash-appname': 'app', 'unleash-instanceid': `pod-${'i'.repeat(97)}` },
      { 'unleash-appname': 'app', 'unleash-instanceid': '\u00e9vil-pod' },
      { 'unleash-appname': 'app', 'unleash-instanceid': 'pod;drop<script>' },
      { 'unleash-appname': 'app', 'unleash-instanceid': 'pod\tid' },
    ];
    for (const headers of hostile) expect(await rawPoll(server, headers)).toBe(200);
    expect(
      await rawPoll(server, {
        'unleash-appname': 'app',
        'unleash-instanceid': 'user-host.example:7/a@b+c=d#e~f_g',
        'unleash-interval': '-5',
        'unleash-sdk': `unleash-node-sdk:${'9'.repeat(3000)}`,
      }),
    ).toBe(200);
    const register = await fetch(`${server.url}/api/client/register`, {
      method: 'POST',
      headers: { authorization: server.tokens.client, 'content-type': 'application/json' },
      body: JSON.stringify({
        appName: 'reg',
        instanceId: `r-${'x'.repeat(100_000)}`,
        sdkVersion: { not: 'a string' },
        interval: 'soon',
        started: 'not a date',
      }),
    });
    expect(register.status).toBe(202);
    const fine = await fetch(`${server.url}/api/client/register`, {
      method: 'POST',
      headers: { authorization: server.tokens.client, 'content-type': 'application/json' },
      body: JSON.stringify({ appName: 'reg', instanceId: 'r-1', sdkVersion: { no: 1 }, interval: 'soon' }),
    });
    expect(fine.status).toBe(202);
    const res = await fetch(`${server.url}/api/admin/sdk-instances`, {
      headers: { authorization: `Bearer ${server.tokens.admin}` },
    });
    const body = (await res.json()) as {
      instances: Array<Record<string, string | number | null>>;
      limit: number;
      limitPerApp: number;
      stats: { refused: Record<string, number> };
    };
    expect(body).toMatchObject({ limit: 10_000, limitPerApp: 1_000 });
    expect(body.instances.map((i) => `${i.appName}/${i.instanceId}`).sort()).toEqual([
      'app/user-host.example:7/a@b+c=d#e~f_g',
      'reg/r-1',
    ]);
    expect(body.stats.refused).toEqual({ invalid: 6, app_full: 0, registry_full: 0 });
    const polled = body.instances.find((i) => i.appName === 'app');
    expect(String(polled?.sdkVersion).length).toBe(60);
    expect(polled).toMatchObject({ refreshIntervalMs: null, requests: 1 });
    const registered = body.instances.find((i) => i.appName === 'reg');
    expect(registered).toMatchObject({ sdkVersion: null, metricsIntervalMs: null, startedAt: null });
  });

  it('is refused without an admin token', async () => {
    const { call } = rollgate();
    expect(
      (await call('GET', '/api/admin/sdk-instances', { token: 'client-secret-0123456789' })).status,
    ).toBe(403);
    expect((await call('GET', '/api/admin/sdk-instances', { token: null })).status).toBe(401);
    expect((await call('POST', '/api/admin/drill', { token: 'client-secret-0123456789' })).status).toBe(403);
  });

  it('keeps at most maxInstances, evicting the one seen longest ago, in memory and in the table', () => {
    let now = 1_000_000;
    const sdks = createSdkRegistry({ now: () => now, limits: { maxInstances: 3, maxFlushRows: 2 } });
    const db = openDb(path.join(tempDir('rollgate-sdk-'), 'rollgate.db'));
    migrate(db, migrationsDir);
    const store = createSdkInstanceStore(db);
    for (const id of ['a', 'b', 'c']) {
      sdks.fetched(poller(id), 1, '"e1"', 'poll');
      now += 2000;
    }
    // A periodic flush writes at most maxFlushRows; the rest wait for the next one.
    expect(store.flush(sdks, now)).toBe(2);
    expect(store.flush(sdks, now)).toBe(1);
    expect(store.flush(sdks, now)).toBe(0);
    // a polls again: b is now the one seen longest ago, and goes when d arrives.
    sdks.fetched(poller('a'), 2, '"e2"', 'poll');
    now += 2000;
    sdks.fetched(poller('d'), 2, '"e2"', 'poll');
    expect(sdks.size()).toBe(3);
    expect(store.flush(sdks, now, { all: true })).toBe(2);
    expect(
      sdks
        .list()
        .map((i) => i.instanceId)
        .sort(),
    ).toEqual(['a', 'c', 'd']);
    const rows = db.prepare('SELECT instance_id, revision FROM sdk_instances ORDER BY instance_id').all();
    expect(rows).toEqual([
      { instance_id: 'a', revision: 2 },
      { instance_id: 'c', revision: 1 },
      { instance_id: 'd', revision: 2 },
    ]);
    // A restart loads them back, most recently seen first.
    const again = createSdkRegistry({ now: () => now });
    again.load(store.load(10));
    expect(again.list().map((i) => i.instanceId)).toEqual(['d', 'a', 'c']);
    expect(again.list()[0]).toMatchObject({ refreshIntervalMs: 1000, sdkVersion: 'unleash-node-sdk:6.12.1' });
    db.close();
  });
});

describe('the registry when full', () => {
  const at = (app: string, id: string) => ({ 'unleash-appname': app, 'unleash-instanceid': id });

  it('replaces an unproven instance first, then one idle past activeMs, and refuses while all are proven and active', () => {
    let now = 10_000_000;
    const sdks = createSdkRegistry({
      now: () => now,
      limits: { maxInstances: 4, maxInstancesPerApp: 2, activeMs: 60_000 },
    });
    const poll = (app: string, id: string) => sdks.fetched(at(app, id), 1, '"e1"', 'poll');
    poll('web', 'real-1');
    poll('web', 'real-1');
    poll('web', 'fake-1');
    // web is full (real-1 proven, fake-1 not): fake-2 replaces fake-1, the real one stays.
    poll('web', 'fake-2');
    expect(sdks.list().map((i) => i.instanceId)).toEqual(['fake-2', 'real-1']);
    poll('web', 'fake-2');
    // Both proven and active: a new id under web is refused, the others are untouched.
    now += 1000;
    poll('web', 'fake-3');
    expect(sdks.stats()).toMatchObject({
      instances: 2,
      unproven: 0,
      refused: { invalid: 0, app_full: 1, registry_full: 0 },
      evicted: { unproven: 1, idle: 0 },
    });
    // Another app fills the rest of the registry with proven instances; the registry is then full.
    for (const id of ['a', 'b']) {
      poll('api', id);
      poll('api', id);
    }
    poll('jobs', 'x');
    expect(sdks.stats().refused.registry_full).toBe(1);
    // A minute later real-1 keeps polling; web/fake-2 and api/a, api/b are idle: the oldest idle one gives way.
    now += 61_000;
    poll('web', 'real-1');
    poll('jobs', 'x');
    expect(sdks.stats().evicted.idle).toBe(1);
    expect(sdks.list().map((i) => `${i.appName}/${i.instanceId}`)).toEqual([
      'jobs/x',
      'web/real-1',
      'api/b',
      'api/a',
    ]);
  });

  it('keeps an instance holding a stream open (one request) as if proven, and forgets one-request ids after probation', () => {
    let now = 10_000_000;
    const sdks = createSdkRegistry({
      now: () => now,
      limits: { maxInstancesPerApp: 2, probationMs: 60_000 },
    });
    sdks.streaming(at('web', 'streamer'), true);
    sdks.fetched(at('web', 'streamer'), 1, '"e1"', 'stream');
    sdks.fetched(at('web', 'once'), 1, '"e1"', 'poll');
    sdks.fetched(at('web', 'flood-1'), 1, '"e1"', 'poll');
    expect(sdks.list().map((i) => i.instanceId)).toEqual(['flood-1', 'streamer']);
    expect(sdks.stats()).toMatchObject({ unproven: 1, evicted: { unproven: 1 } });
    now += 61_000;
    sdks.maintain(now);
    expect(sdks.list().map((i) => i.instanceId)).toEqual(['streamer']);
    expect(sdks.stats().evicted.probation).toBe(1);
    // Closed after its single request, the streamer is unproven again and forgotten like the others.
    sdks.streaming(at('web', 'streamer'), false);
    now += 61_000;
    sdks.maintain(now);
    expect(sdks.size()).toBe(0);
  });

  it('forgets instances unseen for the retention period, in memory and in the table, and counts it', () => {
    let now = 10_000_000;
    const sdks = createSdkRegistry({ now: () => now, limits: { retentionMs: 3_600_000 } });
    const db = openDb(path.join(tempDir('rollgate-sdk-'), 'rollgate.db'));
    migrate(db, migrationsDir);
    const store = createSdkInstanceStore(db);
    for (const id of ['old', 'old']) sdks.fetched(poller(id), 1, '"e1"', 'poll');
    store.flush(sdks, now);
    now += 1_800_000;
    for (const id of ['new', 'new']) sdks.fetched(poller(id), 1, '"e1"', 'poll');
    now += 1_900_000;
    store.flush(sdks, now);
    expect(sdks.list().map((i) => i.instanceId)).toEqual(['new']);
    expect(sdks.stats().evicted.retention).toBe(1);
    expect(db.prepare('SELECT instance_id, requests FROM sdk_instances').all()).toEqual([
      { instance_id: 'new', requests: 2 },
    ]);
    db.close();
  });

  it('loads stored instances under the current rules: malformed names and what exceeds the caps stay out', () => {
    const base = createSdkRegistry({ now: () => 1_000_000 });
    for (const id of ['a', 'b', 'c']) {
      base.fetched(poller(id), 1, '"e1"', 'poll');
      base.fetched(poller(id), 1, '"e1"', 'poll');
    }
    const stored = [
      { ...base.list()[0], instanceId: 'bad id;' },
      ...base.list().slice(1),
    ].reverse() as ReturnType<typeof base.list>;
    const again = createSdkRegistry({ now: () => 1_000_500, limits: { maxInstancesPerApp: 1 } });
    again.load(stored);
    expect(again.list().map((i) => i.instanceId)).toEqual(['a']);
    // Those left out are dropped from the table on the next flush; loading counts nothing as refused or evicted.
    expect(again.drain().evicted.map((e) => e.instanceId)).toEqual(['b', 'bad id;']);
    expect(again.stats()).toMatchObject({ refused: { app_full: 0 }, evicted: { unproven: 0, idle: 0 } });
  });
});

describe('ROLLGATE_SDK_* settings', () => {
  it('sets the caps and retention, and names the field it refuses', async () => {
    const { parseConfig } = await import('../../src/config.ts');
    const ok = parseConfig({
      ROLLGATE_SDK_MAX_INSTANCES: '2000',
      ROLLGATE_SDK_MAX_INSTANCES_PER_APP: '50',
      ROLLGATE_SDK_INSTANCE_RETENTION: '7d',
    });
    expect(ok.ok && ok.config.sdk).toEqual({
      maxInstances: 2000,
      maxInstancesPerApp: 50,
      retentionMs: 7 * 86_400_000,
    });
    const defaults = parseConfig({});
    expect(defaults.ok && defaults.config.sdk).toEqual({
      maxInstances: 10_000,
      maxInstancesPerApp: 1_000,
      retentionMs: 30 * 86_400_000,
    });
    const bad = parseConfig({
      ROLLGATE_SDK_MAX_INSTANCES: '0',
      ROLLGATE_SDK_INSTANCE_RETENTION: '5m',
    });
    expect(bad.ok ? [] : bad.problems.map((p) => p.split(':')[0])).toEqual([
      'ROLLGATE_SDK_MAX_INSTANCES',
      'ROLLGATE_SDK_INSTANCE_RETENTION',
    ]);
    const crossed = parseConfig({
      ROLLGATE_SDK_MAX_INSTANCES: '10',
      ROLLGATE_SDK_MAX_INSTANCES_PER_APP: '11',
    });
    expect(crossed.ok ? [] : crossed.problems).toEqual([
      'ROLLGATE_SDK_MAX_INSTANCES_PER_APP: must not exceed ROLLGATE_SDK_MAX_INSTANCES',
    ]);
  });
});
