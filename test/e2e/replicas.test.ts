// Three real Rollgate processes on one fresh PostgreSQL database: one document everywhere, one leader, one rollback.
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, freePort, kill9, startChild } from '../helpers/child-server.ts';
import { findTestPostgres, freshPostgresDatabase } from '../helpers/db-backends.ts';
import { makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const server = await findTestPostgres();
if (!server.reachable && !server.required) {
  console.log(
    `PostgreSQL tests NOT run (three replicas on one database: one ETag, leader failover, alert flood): nothing answers at ${server.url} and ROLLGATE_TEST_DATABASE_URL is unset`,
  );
}

const steps = `name: replica.steps
description: A replica test flag
owner: test
type: release
rollout:
  stages:
${[2, 4, 6, 8, 10, 12, 14, 16, 18].map((p) => `    - { percent: ${p}, bake: 1s }`).join('\n')}
    - { percent: 100 }
`;
const guarded = `name: replica.guarded
description: A replica test flag
owner: test
type: release
rollout:
  stages:
    - { percent: 10, bake: 1h }
    - { percent: 100 }
  alerts:
    - { match: { alertname: ReplicaFlood } }
  onRegression: rollback
`;
const plain = `name: replica.toggle
description: A replica test flag
owner: test
type: operational
enabled: true
`;

interface Replica {
  child: ChildProcess;
  url: string;
  id: string;
}

const tick = 250;
const children: ChildProcess[] = [];
const replicas: Replica[] = [];
let drop: (() => Promise<void>) | undefined;
/** What the webhook received: every replica is configured with it, only the leader sends. */
const hooks: Array<{ type: string; flag: string; id: number }> = [];
let hook: Server | undefined;
let envFor: (n: number, flags: string) => Record<string, string> = () => ({});

const call = async (r: Replica, method: string, route: string, token: string, body?: unknown) => {
  const res = await fetch(`${r.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, etag: res.headers.get('etag'), text: await res.text() };
};
const admin = async <T>(r: Replica, method: string, route: string, body?: unknown): Promise<T> =>
  JSON.parse((await call(r, method, route, testTokens.admin, body)).text) as T;
const until = async (what: string, ok: () => Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
type Events = { events: Array<{ id: number; type: string; actor: string; data: Record<string, unknown> }> };
const eventsOf = (r: Replica, flag: string) =>
  admin<Events>(r, 'GET', `/api/admin/events?flag=${flag}&limit=500`);
const flagOf = (r: Replica, flag: string) =>
  admin<{ flag: { phase: string; percent: number; stage: { index: number } } }>(
    r,
    'GET',
    `/api/admin/flags/${flag}`,
  );

describe.runIf(server.reachable || server.required)('three replicas on one PostgreSQL', () => {
  beforeAll(async () => {
    if (!server.reachable)
      throw new Error('ROLLGATE_TEST_DATABASE_URL is set but that PostgreSQL does not answer');
    const db = await freshPostgresDatabase(server.url);
    drop = db.drop;
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        hooks.push(JSON.parse(body) as { type: string; flag: string; id: number });
        res.end('ok');
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((resolve) => hook?.listen(hookPort, '127.0.0.1', resolve));
    const flagsDir = makeFlagsDir([], { 'steps.yaml': steps, 'guarded.yaml': guarded, 'toggle.yaml': plain });
    envFor = (n: number, flags: string) =>
      childEnv({
        ROLLGATE_DATA_DIR: tempDir(),
        ROLLGATE_FLAGS_DIR: flags,
        ROLLGATE_DATABASE_URL: db.url,
        ROLLGATE_REPLICA_ID: `replica-${n}`,
        ROLLGATE_TICK_INTERVAL: `${tick}ms`,
        ROLLGATE_NOTIFY_URLS: `http://127.0.0.1:${hookPort}/hook`,
      });
    for (const n of [1, 2, 3]) {
      const env = childEnv({
        PORT: String(await freePort()),
        ROLLGATE_DATA_DIR: tempDir(),
        ROLLGATE_FLAGS_DIR: flagsDir,
        ROLLGATE_DATABASE_URL: db.url,
        ROLLGATE_REPLICA_ID: `replica-${n}`,
        ROLLGATE_TICK_INTERVAL: `${tick}ms`,
        ROLLGATE_NOTIFY_URLS: `http://127.0.0.1:${hookPort}/hook`,
      });
      const started = await startChild(env, children);
      replicas.push({ child: started.child, url: started.url, id: `replica-${n}` });
    }
  }, 90_000);
  afterAll(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await drop?.();
    hook?.close();
  });

  it('serves a toggle made through the first replica from all three, with one body and one ETag', async () => {
    const [first] = replicas;
    if (!first) throw new Error('no replica');
    const before = await call(first, 'GET', '/api/client/features', testTokens.client);
    await admin(first, 'POST', '/api/admin/flags/replica.toggle/disable', {});
    const served = async () =>
      Promise.all(replicas.map((r) => call(r, 'GET', '/api/client/features', testTokens.client)));
    await until('every replica to serve the toggle', async () =>
      (await served()).every((a) => {
        const toggle = (
          JSON.parse(a.text) as { features: Array<{ name: string; enabled: boolean }> }
        ).features.find((f) => f.name === 'replica.toggle');
        return toggle?.enabled === false;
      }),
    );
    const answers = await served();
    expect(new Set(answers.map((a) => a.etag)).size).toBe(1);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers[0]?.etag).not.toBe(before.etag);
  });

  it('rolls back exactly once under an alert flood sent round-robin to all three', async () => {
    const [first] = replicas;
    if (!first) throw new Error('no replica');
    await admin(first, 'POST', '/api/admin/flags/replica.guarded/rollout/start', {});
    const sends = Array.from({ length: 30 }, (_, i) => {
      const r = replicas[i % replicas.length] as Replica;
      return call(r, 'POST', '/api/alerts', testTokens.alert, {
        labels: { alertname: 'ReplicaFlood', instance: `host-${i % 5}` },
        summary: 'errors are high',
      });
    });
    const answers = await Promise.all(sends);
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    const rolledBack = (await eventsOf(first, 'replica.guarded')).events.filter(
      (e) => e.type === 'rollout.rolled-back',
    );
    expect(rolledBack).toHaveLength(1);
    for (const r of replicas) expect((await flagOf(r, 'replica.guarded')).flag.phase).toBe('rolled-back');
    // The outbox row was written with the transition, once; the leader alone sends it.
    await until('the rollback notification', async () => hooks.some((h) => h.type === 'rollout.rolled-back'));
    await new Promise((r) => setTimeout(r, 3 * tick));
    const sent = hooks.filter((h) => h.flag === 'replica.guarded' && h.type === 'rollout.rolled-back');
    expect(sent.map((h) => h.id)).toEqual([rolledBack[0]?.id]);
  });

  it('keeps advancing a rollout under a new leader after the leader is killed with SIGKILL, recording each step once', async () => {
    const [first] = replicas;
    if (!first) throw new Error('no replica');
    const status = await Promise.all(
      replicas.map((r) =>
        admin<{ id: string; leading: boolean; leader: { id: string } | null }>(
          r,
          'GET',
          '/api/admin/replicas',
        ),
      ),
    );
    const leaders = status.filter((s) => s.leading);
    expect(leaders).toHaveLength(1);
    const leaderId = leaders[0]?.id;
    for (const s of status) expect(s.leader?.id).toBe(leaderId);
    await admin(first, 'POST', '/api/admin/flags/replica.steps/rollout/start', {});
    await until(
      'the rollout to pass two stages',
      async () => (await flagOf(first, 'replica.steps')).flag.stage.index >= 2,
    );
    const leader = replicas.find((r) => r.id === leaderId) as Replica;
    await kill9(leader.child);
    const survivors = replicas.filter((r) => r !== leader);
    const survivor = survivors[0] as Replica;
    const killedAt = Date.now();
    await until('a new leader', async () => {
      const s = await Promise.all(
        survivors.map((r) => admin<{ leading: boolean }>(r, 'GET', '/api/admin/replicas')),
      );
      return s.filter((x) => x.leading).length === 1;
    });
    // The lock goes with the dead connection; the next try of a survivor takes it.
    expect(Date.now() - killedAt).toBeLessThan(2 * tick + 1000);
    await until(
      'the rollout to complete',
      async () => (await flagOf(survivor, 'replica.steps')).flag.phase === 'completed',
      30_000,
    );
    const events = (await eventsOf(survivor, 'replica.steps')).events;
    const promoted = events.filter((e) => e.type === 'rollout.promoted').map((e) => String(e.data.stage));
    expect(promoted.length).toBeGreaterThanOrEqual(8);
    expect(new Set(promoted).size).toBe(promoted.length);
    expect(events.filter((e) => e.type === 'rollout.completed')).toHaveLength(1);
    const metrics = await fetch(`${survivor.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/rollgate_replica_leader\{replica="replica-\d",leader="replica-\d"\} [01]/);
  }, 60_000);

  it('has a replica that loaded another plan folder say so, and the others see whose folder is in force', async () => {
    const other = makeFlagsDir([], {
      'steps.yaml': steps,
      'guarded.yaml': guarded,
      'toggle.yaml': plain.replace('A replica test flag', 'Another folder'),
    });
    const started = await startChild({ ...envFor(4, other), PORT: String(await freePort()) }, children);
    const fourth: Replica = { child: started.child, url: started.url, id: 'replica-4' };
    type Status = { plans: { same: boolean; applied: { by: string } | null } };
    expect((await admin<Status>(fourth, 'GET', '/api/admin/replicas')).plans).toMatchObject({
      same: true,
      applied: { by: 'replica-4' },
    });
    const alive = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    expect(alive.length).toBeGreaterThanOrEqual(2);
    for (const r of alive) {
      expect((await admin<Status>(r, 'GET', '/api/admin/replicas')).plans).toMatchObject({
        same: false,
        applied: { by: 'replica-4' },
      });
      const ready = await fetch(`${r.url}/health/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { checks: { planFolder: { same: boolean; error: string } } };
      expect(body.checks.planFolder.error).toMatch(/applied from another folder by replica-4/);
    }
  }, 60_000);
});
