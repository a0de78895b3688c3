// Bounded everything: nesting, error sizes, alert labels, slow bodies — hostile input gets a small, clear answer.
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { buildRollgate, fixturePlansDir, makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup(env: Record<string, string> = {}) {
  const t = buildRollgate({
    flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
    env,
  });
  open.push(t.rg);
  return t;
}

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('bounded input', () => {
  it('answers 400, not a stack overflow, for 3,000 levels of nesting in a task input', async () => {
    const { rg } = setup({ ROLLGATE_SERVICE: 'on' });
    const body = `{"tenantId":"acme","userId":"u","type":"self-improvement","input":${nested(3000)}}`;
    const res = await rg.app.request('/service/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /nests deeper than 64 levels/,
    );
  });

  it('never echoes a megabyte of input in an error body', async () => {
    const { call, rg } = setup();
    const junk = `{"records": [${'"x",'.repeat(250_000)} tru]}`;
    const raw = await rg.app.request('/api/signals', {
      method: 'POST',
      headers: { authorization: `Bearer ${testTokens.ingest}`, 'content-type': 'application/json' },
      body: junk,
    });
    expect(raw.status).toBe(400);
    expect((await raw.text()).length).toBeLessThan(1000);
    const many = await call('POST', '/api/alerts', {
      token: testTokens.alert,
      body: Array.from({ length: 500 }, () => ({ labels: 7, status: 'nope' })),
    });
    expect(many.status).toBe(400);
    const text = await many.text();
    expect(text.length).toBeLessThan(5000);
    expect(JSON.parse(text).error.details.more).toBeGreaterThan(0);
  });

  it('names the field in POST /api/alerts 400s, for one alert and for a list', async () => {
    const { call } = setup();
    const one = await call('POST', '/api/alerts', { token: testTokens.alert, body: { labels: 'x' } });
    expect((await one.json()).error.details.issues[0].path).toBe('labels');
    const list = await call('POST', '/api/alerts', {
      token: testTokens.alert,
      body: [{ labels: { a: 'b' } }, { labels: { a: 'b' }, status: 'burning' }],
    });
    expect((await list.json()).error.details.issues[0].path).toBe('[1].status');
  });

  it('cuts labels over 1 KB and hashes a fingerprint over 256 characters, and still acts on the alert', async () => {
    const { call } = setup();
    const res = await call('POST', '/api/alerts', {
      token: testTokens.alert,
      body: { labels: { alertname: 'Huge', blob: 'x'.repeat(1_000_000) }, fingerprint: 'f'.repeat(10_000) },
    });
    expect(res.status).toBe(202);
    const [stored] = (await (await call('GET', '/api/admin/alerts?limit=1')).json()).alerts;
    expect(stored.labels.blob.length).toBe(1024);
    expect(stored.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('cuts off an authenticated request whose body trickles in, within the request timeout', async () => {
    const config = testConfig({
      flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
      env: { ROLLGATE_REQUEST_TIMEOUT: '1s' },
    });
    const rg = createRollgate(config, { log: silentLogger });
    open.push(rg);
    const { port } = await rg.start();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const started = Date.now();
    socket.write(
      `POST /api/signals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${testTokens.ingest}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"records":[',
    );
    const drip = setInterval(() => socket.write(' '), 200);
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    clearInterval(drip);
    socket.destroy();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('forgets events, alerts and idempotency keys past their retention, keeping the newest event', async () => {
    const { call, rg, clock } = setup();
    await call('POST', '/api/alerts', { token: testTokens.alert, body: { labels: { alertname: 'Old' } } });
    await call('POST', '/api/signals', {
      token: testTokens.ingest,
      headers: { 'idempotency-key': 'k-old' },
      body: { records: [{ flag: 'checkout.new-flow', arm: 'control', at: clock(), requests: 1 }] },
    });
    await call('POST', '/api/admin/flags/checkout.new-flow/disable');
    const count = (table: string) =>
      (rg.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect(count('events')).toBeGreaterThan(1);
    expect(count('alerts')).toBe(1);
    expect(count('idempotency_keys')).toBe(1);
    clock.advance(91 * 86_400_000);
    rg.retention();
    expect(count('events')).toBe(1);
    expect(count('alerts')).toBe(0);
    expect(count('idempotency_keys')).toBe(0);
  });
});
