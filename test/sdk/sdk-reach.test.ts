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
    expect((await poll('pod-a')).status).toBe(200);
    clock.advance(2000);
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
    const res = await call('GET', '/api/client/features?namePrefix=demo.', {
      token: 'client-secret-0123456789',
      headers: poller('pod-demo'),
    });
    expect(res.status).toBe(200);
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
  it('cuts long names and versions, keeps only printable characters, and ignores a nonsense interval', async () => {
    const server = await startSdkServer();
    open.push(server);
    const status = await rawPoll(server, {
      'unleash-appname': `app-${'a'.repeat(4000)}`,
      'unleash-instanceid': `\u00e9vil-${'i'.repeat(4000)}`,
      'unleash-interval': '-5',
      'unleash-sdk': `unleash-node-sdk:${'9'.repeat(3000)}`,
    });
    expect(status).toBe(200);
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
    const res = await fetch(`${server.url}/api/admin/sdk-instances`, {
      headers: { authorization: `Bearer ${server.tokens.admin}` },
    });
    const body = (await res.json()) as {
      instances: Array<Record<string, string | number | null>>;
      limit: number;
    };
    expect(body.limit).toBe(10_000);
    const polled = body.instances.find((i) => String(i.appName).startsWith('app-'));
    expect(String(polled?.appName).length).toBe(100);
    expect(String(polled?.instanceId).length).toBe(100);
    expect(polled?.instanceId).toMatch(/^[\x20-\x7e]+$/);
    expect(String(polled?.instanceId).startsWith('?vil-')).toBe(true);
    expect(String(polled?.sdkVersion).length).toBe(60);
    expect(polled?.refreshIntervalMs).toBeNull();
    const registered = body.instances.find((i) => i.appName === 'reg');
    expect(String(registered?.instanceId).length).toBe(100);
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
