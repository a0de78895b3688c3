// A rollback drill against real unleash-client instances over a real port: one streaming, one polling, one stopped.
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drillCommand } from '../../src/cli/drill.ts';
import type { DrillRun } from '../../src/sdk/drill.ts';
import { nextEvent, type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

let server: SdkServer;
const clients: Unleash[] = [];

beforeEach(async () => {
  server = await startSdkServer({ heartbeatMs: 200 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server.stop();
});

function sdk(instanceId: string, mode: 'poll' | 'stream') {
  const client = new Unleash({
    url: `${server.url}/api/`,
    appName: 'drill-test',
    instanceId,
    customHeaders: { Authorization: server.tokens.client },
    // A streaming client would take ten minutes to poll: whatever it holds was pushed.
    refreshInterval: mode === 'stream' ? 600_000 : 200,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    ...(mode === 'stream' ? { experimentalMode: { type: 'streaming' as const } } : {}),
  });
  clients.push(client);
  return client;
}

const admin = async (method: string, route: string, body?: unknown) => {
  const res = await fetch(`${server.url}/api/admin/${route}`, {
    method,
    headers: { authorization: `Bearer ${server.tokens.admin}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

async function finished(id: number): Promise<DrillRun> {
  for (;;) {
    const { body } = await admin('GET', 'drill');
    const drill = body.drill as DrillRun;
    if (drill.id === id && drill.status !== 'running') return drill;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Requests the server saw from an instance: a drill judges only those seen on two or more. */
const requestsOf = (instanceId: string) =>
  server.rg.sdks.list().find((i) => i.instanceId === instanceId)?.requests ?? 0;

/** A polling SDK stopped after its second poll, as a pod that hung or died would (one poll is not yet an SDK). */
async function stoppedInstance(instanceId: string) {
  const stopped = sdk(instanceId, 'poll');
  await nextEvent(stopped, UnleashEvents.Synchronized);
  await expect.poll(() => requestsOf(instanceId), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
  stopped.destroy();
}

/** Three real SDKs seen by the server; the third stopped after its second fetch, as a hung or dead pod would. */
async function threeInstances() {
  const streaming = sdk('streaming-1', 'stream');
  const polling = sdk('polling-1', 'poll');
  await Promise.all([streaming, polling].map((c) => nextEvent(c, UnleashEvents.Synchronized)));
  await stoppedInstance('stopped-1');
  // The streaming SDK's hydration is recorded when its write completes.
  await expect.poll(() => server.rg.sdks.list().length, { timeout: 5000 }).toBe(3);
  return { streaming, polling };
}

describe('rollback drill against real unleash-client 6.12.1 instances', () => {
  it('times the streaming and polling instances, names the stopped one, restores the flag and logs the run', async () => {
    const { streaming, polling } = await threeInstances();
    const seen = await admin('GET', 'sdk-instances');
    const byId = new Map(
      (
        seen.body.instances as Array<{ instanceId: string; connection: string; refreshIntervalMs: number }>
      ).map((i) => [i.instanceId, i]),
    );
    expect(byId.get('streaming-1')?.connection).toBe('stream');
    expect(byId.get('polling-1')).toMatchObject({ connection: 'poll', refreshIntervalMs: 200 });
    expect(byId.get('stopped-1')?.connection).toBe('poll');

    // Both live SDKs see the drill flag appear while the drill runs.
    const pollingSaw = nextEvent(polling, UnleashEvents.Changed, () => polling.isEnabled('rollgate.drill'));
    const streamingSaw = nextEvent(streaming, UnleashEvents.Changed, () =>
      streaming.isEnabled('rollgate.drill'),
    );
    const started = await admin('POST', 'drill', { reason: 'game day', timeout: '2s' });
    expect(started.status).toBe(202);
    const run = started.body.drill as DrillRun;
    expect(run.status).toBe('running');

    // Only one drill at a time.
    const second = await admin('POST', 'drill', {});
    expect(second.status).toBe(409);
    expect(JSON.stringify(second.body)).toContain('already running');

    await Promise.all([pollingSaw, streamingSaw]);
    const drill = await finished(run.id);
    expect(drill.status).toBe('failed');
    expect(drill.missed).toEqual(['drill-test/stopped-1']);
    const took = new Map(drill.instances.map((i) => [i.instanceId, i.tookMs]));
    expect(took.get('stopped-1')).toBeNull();
    // The push is written at once, the poller takes it at its next poll (200 ms): both well inside the timeout.
    for (const id of ['streaming-1', 'polling-1']) {
      expect(took.get(id)).toBeGreaterThanOrEqual(0);
      expect(took.get(id)).toBeLessThanOrEqual(drill.timeoutMs);
    }
    expect(drill.summary).toContain('1 of 3 SDK instance(s) did not hold');
    expect(drill.summary).toContain('drill-test/stopped-1');

    // Restored: the flag is gone from the served document, and the live SDKs see that too.
    expect(server.rg.served.current().byName.has('rollgate.drill')).toBe(false);
    expect(drill.restoredRevision).toBeGreaterThan(drill.revision);
    await expect.poll(() => polling.isEnabled('rollgate.drill'), { timeout: 5000 }).toBe(false);
    await expect.poll(() => streaming.isEnabled('rollgate.drill'), { timeout: 5000 }).toBe(false);

    const events = await admin('GET', 'events?flag=rollgate.drill');
    const types = (events.body.events as Array<{ type: string; reason: string; actor: string }>).map(
      (e) => e.type,
    );
    expect(types).toEqual(['drill.failed', 'drill.started']);
  }, 20_000);

  it('rollgate drill exits 0 when every instance took the change, and 1 naming the one that stopped', async () => {
    const live = [sdk('streaming-1', 'stream'), sdk('polling-1', 'poll')];
    await Promise.all(live.map((c) => nextEvent(c, UnleashEvents.Synchronized)));
    await expect.poll(() => server.rg.sdks.list().length, { timeout: 5000 }).toBe(2);
    // The poller is judged from its second poll on (200 ms after its first).
    await expect.poll(() => requestsOf('polling-1'), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    const target = { url: server.url, token: server.tokens.admin };
    const first: string[] = [];
    const ok = await drillCommand(target, { timeout: '5s', json: true, pollMs: 100 }, (l) => first.push(l));
    const passed = JSON.parse(first.join('')) as DrillRun;
    expect(passed.status).toBe('passed');
    expect(passed.summary).toMatch(/^All 2 SDK instance\(s\) held the drill's change, the slowest after/);
    expect(ok).toBe(0);

    await stoppedInstance('stopped-1');
    const lines: string[] = [];
    const code = await drillCommand(target, { timeout: '2s', json: false, pollMs: 100 }, (l) =>
      lines.push(l),
    );
    expect(code).toBe(1);
    const text = lines.join('\n');
    expect(text).toMatch(/drill-test\/stopped-1 {2}poll {2}NEVER took the change/);
    expect(text).toMatch(/drill-test\/polling-1 {2}poll {2}took it after \d+\.\d s/);
    expect(text).toMatch(/drill-test\/streaming-1 {2}stream {2}took it after \d+\.\d s/);
  }, 20_000);
});
