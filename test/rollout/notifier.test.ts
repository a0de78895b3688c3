import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { StoredEvent } from '../../src/rollout/event-store.ts';
import { createNotifier, signature } from '../../src/rollout/notifier.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real webhook receiver on loopback; `respond` picks the status for the n-th request (0-based). */
async function startReceiver(respond: (n: number) => number | Promise<number>) {
  const requests: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const n = requests.length;
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve();
      res.writeHead(await respond(n)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/rollgate`,
    requests,
    received: (n: number) =>
      requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const secret = 'notify-secret-0123456789';
const plan = `
name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
rollout:
  stages: [{ percent: 5 }, { percent: 100 }]
  alerts: [{ match: { alertname: CheckoutErrors } }]
`;

const event = (id: number, type = 'rollout.promoted'): StoredEvent => ({
  id,
  at: Date.parse('2026-01-01T00:00:00Z'),
  flag: 'checkout.new-flow',
  type,
  actor: 'controller',
  reason: 'healthy',
  data: {},
});

describe('transition notifications', () => {
  it('delivers a signed message per transition, retrying after a failing first attempt', async () => {
    const receiver = await startReceiver((n) => (n === 0 ? 503 : 204));
    cleanups.push(receiver.close);
    const t = buildRollgate({
      flagsDir: makeFlagsDir([], { 'checkout.yaml': plan }),
      env: { ROLLGATE_NOTIFY_URLS: receiver.url, ROLLGATE_NOTIFY_SECRET: secret },
    });
    cleanups.push(() => t.rg.stop());

    const started = await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start', {
      body: { reason: 'ship it' },
    });
    expect(started.status).toBe(200);
    await receiver.received(2);
    const [failed, retried] = receiver.requests;
    expect(retried?.body).toBe(failed?.body);
    for (const r of [failed, retried]) {
      const timestamp = String(r?.headers['x-rollgate-timestamp']);
      expect(r?.headers['x-rollgate-signature']).toBe(signature(secret, timestamp, r?.body ?? ''));
      expect(r?.headers['x-rollgate-event']).toBe('rollout.started');
      expect(r?.headers['content-type']).toBe('application/json');
    }
    expect(JSON.parse(retried?.body ?? '')).toMatchObject({
      type: 'rollout.started',
      flag: 'checkout.new-flow',
      actor: 'ops',
      reason: 'ship it',
      phase: 'progressing',
      percent: 5,
      percentBefore: 0,
      stage: 'stage 1/2',
      text: ':rocket: *checkout.new-flow* rollout started: 0% → 5% (stage 1/2) by ops: ship it',
    });

    await t.call('POST', '/api/alerts', {
      token: testTokens.alert,
      body: { labels: { alertname: 'CheckoutErrors' } },
    });
    await receiver.received(3);
    expect(JSON.parse(receiver.requests[2]?.body ?? '')).toMatchObject({
      type: 'rollout.rolled-back',
      actor: 'alert:generic:CheckoutErrors',
      phase: 'rolled-back',
      percent: 0,
      percentBefore: 5,
      evidence: { alert: { labels: { alertname: 'CheckoutErrors' } } },
      text: ':rotating_light: *checkout.new-flow* rolled back: 5% → 0% by alert:generic:CheckoutErrors: alert CheckoutErrors firing (generic)',
    });
  });

  it('keeps the queue bounded by dropping the oldest message, with a warning', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const receiver = await startReceiver(async (n) => {
      if (n === 0) await held;
      return 200;
    });
    cleanups.push(receiver.close);
    const lines: string[] = [];
    const notifier = createNotifier({
      urls: [receiver.url],
      log: createLogger('warn', {}, (line) => lines.push(line)),
      concurrency: 1,
      maxQueue: 2,
    });
    cleanups.push(() => notifier.stop());

    notifier.enqueue(event(1));
    await receiver.received(1);
    for (const id of [2, 3, 4]) notifier.enqueue(event(id));
    expect(notifier.stats()).toMatchObject({ dropped: 1, queued: 2, inFlight: 1 });
    release();
    await notifier.idle();
    expect(receiver.requests.map((r) => JSON.parse(r.body).id)).toEqual([1, 3, 4]);
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: 'warn', msg: 'notification queue full; dropped the oldest', droppedEvent: 2 },
    ]);
  });

  it('retries server errors up to the attempt limit but not a rejecting 4xx', async () => {
    const failing = await startReceiver(() => 500);
    const rejecting = await startReceiver(() => 400);
    cleanups.push(failing.close, rejecting.close);
    const notifier = createNotifier({
      urls: [failing.url, rejecting.url],
      log: createLogger('silent'),
      maxAttempts: 3,
      baseDelayMs: 1,
    });
    notifier.enqueue(event(7));
    await notifier.idle();
    expect(failing.requests).toHaveLength(3);
    expect(rejecting.requests).toHaveLength(1);
    expect(notifier.stats()).toMatchObject({ sent: 0, failed: 2, retried: 2 });
  });

  it('sends only rollout transitions and kill-switch changes', async () => {
    const receiver = await startReceiver(() => 200);
    cleanups.push(receiver.close);
    const notifier = createNotifier({ urls: [receiver.url], log: createLogger('silent') });
    notifier.enqueue(event(1, 'plan.changed'));
    notifier.enqueue(event(2, 'flag.disabled'));
    await notifier.idle();
    expect(receiver.requests.map((r) => JSON.parse(r.body).type)).toEqual(['flag.disabled']);
  });

  it('gives a message waiting for its retry one last attempt when stopped', async () => {
    const receiver = await startReceiver(() => 503);
    cleanups.push(receiver.close);
    let retryScheduled = () => {};
    const waiting = new Promise<void>((resolve) => {
      retryScheduled = resolve;
    });
    const log = createLogger('debug', {}, (line) => {
      if (JSON.parse(line).msg === 'notification failed; will retry') retryScheduled();
    });
    const notifier = createNotifier({ urls: [receiver.url], log, baseDelayMs: 3_600_000 });
    notifier.enqueue(event(1));
    await waiting;
    await notifier.stop();
    expect(receiver.requests).toHaveLength(2);
    expect(notifier.stats()).toMatchObject({ failed: 1, retried: 1, queued: 0, inFlight: 0 });
  });

  it('never fails a transition when the receiver is unreachable', async () => {
    const gone = await startReceiver(() => 200);
    await gone.close();
    const t = buildRollgate({
      flagsDir: makeFlagsDir([], { 'checkout.yaml': plan }),
      env: { ROLLGATE_NOTIFY_URLS: gone.url },
    });
    cleanups.push(() => t.rg.stop());
    const res = await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    expect(res.status).toBe(200);
    expect(t.rg.controller.requireFlag('checkout.new-flow').state.phase).toBe('progressing');
  });
});
