import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createPrometheusClient } from '../../src/health/prometheus-client.ts';
import { tempDir } from '../helpers/rollgate.ts';

// The bounds and auth of the client, against a loopback HTTP peer answering as the query_range API does;
// the real Prometheus is exercised end to end in prometheus-source.test.ts.
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function peer(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: Array<{ auth: string | undefined; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, body });
      answer(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return { url: `http://127.0.0.1:${port}/prom`, seen };
}

const matrix = (n: number) =>
  JSON.stringify({
    status: 'success',
    data: {
      resultType: 'matrix',
      result: Array.from({ length: n }, (_, i) => ({ metric: { i: String(i) }, values: [[60, '1.5']] })),
    },
  });

describe('the Prometheus client', () => {
  it('sends the bearer token read from its file, and the query, range and step', async () => {
    const p = await peer((_q, res) => res.end(matrix(1)));
    const file = path.join(tempDir(), 'token');
    fs.writeFileSync(file, 'sekret-token\n');
    const client = createPrometheusClient({
      url: p.url,
      bearerTokenFile: file,
      timeoutMs: 5000,
      maxSeries: 10,
    });
    const r = await client.queryRange('up', 0, 60, 60);
    expect(r).toEqual({ ok: true, series: [{ labels: { i: '0' }, values: [[60, 1.5]] }] });
    expect(p.seen[0]?.auth).toBe('Bearer sekret-token');
    expect(new URLSearchParams(p.seen[0]?.body)).toEqual(
      new URLSearchParams({ query: 'up', start: '0', end: '60', step: '60', timeout: '5s' }),
    );
  });

  it('sends basic auth from a user:password file', async () => {
    const p = await peer((_q, res) => res.end(matrix(1)));
    const file = path.join(tempDir(), 'basic');
    fs.writeFileSync(file, 'grafana:pa:ss\n');
    const client = createPrometheusClient({
      url: p.url,
      basicAuthFile: file,
      timeoutMs: 5000,
      maxSeries: 10,
    });
    await client.queryRange('up', 0, 60, 60);
    expect(p.seen[0]?.auth).toBe(`Basic ${Buffer.from('grafana:pa:ss').toString('base64')}`);
  });

  it("returns Prometheus's error, a series-limit breach and a timeout as data", async () => {
    const bad = await peer((_q, res) => {
      res.writeHead(400);
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }));
    });
    const client = (url: string, timeoutMs = 5000) =>
      createPrometheusClient({ url, timeoutMs, maxSeries: 3 });
    expect(await client(bad.url).queryRange('x{', 0, 60, 60)).toEqual({
      ok: false,
      error: 'bad_data: parse error at char 5',
    });
    await close?.();
    const many = await peer((_q, res) => res.end(matrix(4)));
    const r = await client(many.url).queryRange('x', 0, 60, 60);
    expect(r.ok === false && r.error).toContain('4 series, more than the limit of 3');
    await close?.();
    const slow = await peer(() => {});
    const t = await client(slow.url, 200).queryRange('x', 0, 60, 60);
    expect(t.ok === false && t.error).toContain('timed out after 200 ms');
  });
});

describe('Prometheus settings', () => {
  it('refuses both auth files at once, credentials in the URL and a step that does not tile a minute', () => {
    const r = parseConfig({
      ROLLGATE_PROMETHEUS_URL: 'http://127.0.0.1:9090',
      ROLLGATE_PROMETHEUS_BEARER_TOKEN_FILE: '/a',
      ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE: '/b',
      ROLLGATE_PROMETHEUS_STEP: '7s',
    });
    expect(r.ok === false && r.problems).toEqual([
      'ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE: set a bearer token file or basic auth, not both',
      'ROLLGATE_PROMETHEUS_STEP: must divide a minute (1s, 5s, 30s) or be whole minutes',
    ]);
    const withSecret = parseConfig({ ROLLGATE_PROMETHEUS_URL: 'http://grafana:hunter2@127.0.0.1:9090' });
    expect(withSecret.ok === false && withSecret.problems).toEqual([
      'ROLLGATE_PROMETHEUS_URL: put credentials in ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE, not the URL',
    ]);
    const ok = parseConfig({ ROLLGATE_PROMETHEUS_URL: 'http://127.0.0.1:9090' });
    expect(ok.ok && ok.config.prometheus).toMatchObject({
      stepMs: 60_000,
      delayMs: 30_000,
      timeoutMs: 10_000,
      maxSeries: 100,
    });
  });
});
