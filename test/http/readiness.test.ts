// Readiness tells the truth: 503 while writes fail (disk full, read-only) or the plan watcher is dead, and failing writes answer 503, not 500.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/open.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { fixturePlansDir, makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function setup() {
  const config = testConfig({
    flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
  });
  const rg = createRollgate(config, { log: silentLogger, storageRecoverMs: 200 });
  stops.push(() => rg.stop());
  const request = (method: string, url: string, body?: unknown, token = testTokens.admin) =>
    Promise.resolve(
      rg.app.request(url, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  const records = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      flag: 'checkout.new-flow',
      arm: i % 2 ? 'treatment' : 'control',
      at: Date.parse('2026-01-01T00:00:00Z') + i * 60_000,
      requests: 10,
      errors: 1,
    }));
  return { rg, request, records };
}

describe('readiness and storage faults', () => {
  it('answers 503 naming the fault while the database is full, and is ready again once writes succeed', async () => {
    const { rg, request, records } = setup();
    expect((await request('GET', '/health/ready')).status).toBe(200);
    const pages = (rg.db as Db).pragma('page_count', { simple: true }) as number;
    (rg.db as Db).pragma(`max_page_count = ${pages}`);
    const full = await request('POST', '/api/signals', { records: records(2000) }, testTokens.ingest);
    expect(full.status).toBe(503);
    const body = (await full.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'UNAVAILABLE' });
    expect(body.error.message).toMatch(/full \(SQLITE_FULL\); nothing was stored/);
    const ready = await request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(
      ((await ready.json()) as { checks: { database: { error: string } } }).checks.database.error,
    ).toMatch(/SQLITE_FULL/);
    // Liveness is not readiness: the process is alive and says so.
    expect((await request('GET', '/health/live')).status).toBe(200);
    (rg.db as Db).pragma('max_page_count = 1073741823');
    await new Promise((r) => setTimeout(r, 250));
    expect((await request('POST', '/api/signals', { records: records(2) }, testTokens.ingest)).status).toBe(
      200,
    );
    expect((await request('GET', '/health/ready')).status).toBe(200);
  });

  it('answers 503, not 500, when the database turns read-only, and the probe notices without any request', async () => {
    const { rg, request } = setup();
    (rg.db as Db).pragma('query_only = ON');
    const res = await request('POST', '/api/admin/flags/checkout.new-flow/disable', {});
    expect(res.status).toBe(503);
    (rg.db as Db).pragma('query_only = OFF');
    await new Promise((r) => setTimeout(r, 250));
    expect((await request('GET', '/health/ready')).status).toBe(200);
    (rg.db as Db).pragma('query_only = ON');
    rg.storage.probe();
    expect((await request('GET', '/health/ready')).status).toBe(503);
    (rg.db as Db).pragma('query_only = OFF');
  });
});
