import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { signature } from '../../src/rollout/notifier.ts';
import { childEnv, freePort, kill9, startChild } from '../helpers/child-server.ts';
import { buildRollgate, makeFlagsDir, tempDir, testConfig, testTokens } from '../helpers/rollgate.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real webhook receiver on loopback; `respond` picks the status for the n-th request (0-based). */
async function startReceiver(
  respond: (n: number) => number | Promise<number>,
  headers: Record<string, string> = {},
) {
  const requests: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const n = requests.length;
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve();
      res.writeHead(await respond(n), headers).end();
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
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
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

/** A Rollgate whose webhook sender retries fast, so attempt limits are reached within a test. */
function withNotifier(urls: string[], log: Logger = createLogger('silent')) {
  const config = testConfig({
    flagsDir: makeFlagsDir([], { 'checkout.yaml': plan }),
    env: { ROLLGATE_NOTIFY_URLS: urls.join(',') },
  });
  const rg = createRollgate(config, { log, notifier: { baseDelayMs: 1, maxAttempts: 3, pollMs: 50 } });
  cleanups.push(() => rg.stop());
  const call = (method: string, url: string) =>
    Promise.resolve(
      rg.app.request(url, { method, headers: { authorization: `Bearer ${testTokens.admin}` } }),
    );
  return { rg, call };
}

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

  it('retries server errors up to the attempt limit, but not a rejecting 4xx', async () => {
    const failing = await startReceiver(() => 500);
    const rejecting = await startReceiver(() => 400);
    cleanups.push(failing.close, rejecting.close);
    const t = withNotifier([failing.url, rejecting.url]);
    await t.call('POST', '/api/admin/flags/checkout.new-flow/disable');
    await t.rg.notifier.idle();
    expect(failing.requests).toHaveLength(3);
    expect(rejecting.requests).toHaveLength(1);
    expect(t.rg.notifier.stats()).toMatchObject({ sent: 0, failed: 2, retried: 2, pending: 0 });
  });

  it('treats a redirect as a failed delivery and never follows it', async () => {
    const elsewhere = await startReceiver(() => 200);
    cleanups.push(elsewhere.close);
    const redirecting = await startReceiver(() => 307, { location: elsewhere.url });
    cleanups.push(redirecting.close);
    const t = withNotifier([redirecting.url]);
    await t.call('POST', '/api/admin/flags/checkout.new-flow/disable');
    await t.rg.notifier.idle();
    expect(redirecting.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(t.rg.notifier.stats()).toMatchObject({ sent: 0, failed: 1 });
  });

  it('sends only rollout transitions and kill-switch changes', async () => {
    const receiver = await startReceiver(() => 200);
    cleanups.push(receiver.close);
    const t = withNotifier([receiver.url]);
    await t.call('POST', '/api/admin/plans/reload');
    await t.call('POST', '/api/admin/flags/checkout.new-flow/disable');
    await t.rg.notifier.idle();
    expect(receiver.requests.map((r) => JSON.parse(r.body).type)).toEqual(['flag.disabled']);
  });

  it('sends user:password from the URL as Basic auth and never logs it, nor the path or query', async () => {
    const receiver = await startReceiver(() => 500);
    cleanups.push(receiver.close);
    const secretUrl = `${receiver.url.replace('http://', 'http://hook:s3cr3t-pw@')}?token=q-s3cr3t`;
    const lines: string[] = [];
    const t = withNotifier(
      [secretUrl],
      createLogger('debug', {}, (l) => lines.push(l)),
    );
    await t.call('POST', '/api/admin/flags/checkout.new-flow/disable');
    await t.rg.notifier.idle();
    expect(receiver.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('hook:s3cr3t-pw').toString('base64')}`,
    );
    expect(lines.some((l) => l.includes('notification not delivered'))).toBe(true);
    for (const l of lines) expect(l).not.toMatch(/s3cr3t|hooks\/rollgate/);
  });

  it('delivers a notification whose transition committed before a kill -9, after the restart', async () => {
    let up = false;
    const receiver = await startReceiver(() => (up ? 204 : 503));
    cleanups.push(receiver.close);
    const env = childEnv({
      PORT: String(await freePort()),
      ROLLGATE_DATA_DIR: tempDir(),
      ROLLGATE_FLAGS_DIR: makeFlagsDir([], { 'checkout.yaml': plan }),
      ROLLGATE_NOTIFY_URLS: receiver.url,
    });
    const first = await startChild(env, children);
    const res = await fetch(`${first.url}/api/admin/flags/checkout.new-flow/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testTokens.admin}` },
    });
    expect(res.status).toBe(200);
    await receiver.received(1);
    await kill9(first.child);
    up = true;
    const seen = receiver.requests.length;
    await startChild(env, children);
    await receiver.received(seen + 1);
    const delivered = receiver.requests.at(-1);
    expect(JSON.parse(delivered?.body ?? '{}')).toMatchObject({
      type: 'flag.disabled',
      flag: 'checkout.new-flow',
    });
    expect(delivered?.headers['x-rollgate-delivery']).toBe(
      receiver.requests[0]?.headers['x-rollgate-delivery'],
    );
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
