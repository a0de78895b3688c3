// Property-based fuzzing of every route of the real server on a port: no 5xx, the error shape, and no state change on a rejected request.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { bundledFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';

let rg: ReturnType<typeof createRollgate>;
let base: string;
beforeAll(async () => {
  const config = testConfig({ flagsDir: bundledFlagsDir, env: { ROLLGATE_SERVICE: 'on' } });
  rg = createRollgate(config, {
    log: silentLogger,
    // Nothing in the background may write while a request is judged: no reporter flushes, SDK metrics or ticks.
    service: {
      flags: { readyTimeoutMs: 5_000, refreshMs: 3_600_000, metricsMs: 3_600_000 },
      workers: { enabled: false },
      signals: { flushMs: 3_600_000 },
    },
  });
  ({ url: base } = await rg.start());
  await rg.scheduler.stop();
});
afterAll(async () => rg?.stop());

/** Everything a rejected request must leave as it was. */
function digest(): string {
  const q = (sql: string) => JSON.stringify(rg.db.prepare(sql).all());
  return [
    q('SELECT flag, enabled, phase, stage, version FROM flag_state ORDER BY flag'),
    q('SELECT COUNT(*) AS n, MAX(id) AS last FROM events'),
    q('SELECT COUNT(*) AS n, SUM(count) AS c, SUM(sum) AS s FROM signal_buckets'),
    q('SELECT COUNT(*) AS n, SUM(count) AS c FROM signal_histograms'),
    q('SELECT COUNT(*) AS n, SUM(times_received) AS t FROM alerts'),
    q('SELECT COUNT(*) AS n FROM idempotency_keys'),
    q('SELECT COUNT(*) AS n FROM plans'),
  ].join('\n');
}

const flags = ['queue.async-tasks', 'schema.ai-model', 'pricing.dynamic-offers'];
const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '../../etc/passwd',
    '%00',
    'x'.repeat(5000),
    '😀',
    'Control',
    '__proto__',
  ),
);
const name = fc.oneof(fc.constantFrom(...flags), hostile);
const scalar = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e308, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER),
  hostile,
  fc.boolean(),
  fc.constant(null),
);
const at = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.integer(),
  hostile,
);
const record = fc.record(
  {
    flag: name,
    arm: fc.oneof(fc.constantFrom('treatment', 'control', 'price-17', 'Control', 'disabled'), hostile),
    at,
    requests: scalar,
    errors: scalar,
    ok: fc.boolean(),
    latencyMs: fc.oneof(
      scalar,
      fc.record({
        count: scalar,
        sum: scalar,
        buckets: fc.array(fc.record({ le: scalar, count: scalar }), { maxLength: 4 }),
      }),
    ),
    revenue: scalar,
    units: scalar,
    conversions: scalar,
  },
  { requiredKeys: [] },
);
const labels = fc.dictionary(
  fc.oneof(fc.constantFrom('alertname', 'service', 'rollgate_flag'), fc.string()),
  fc.oneof(fc.constantFrom(...flags, 'TaskFailures', 'tasks'), fc.string()),
  { maxKeys: 4 },
);
const alert = fc.record(
  {
    labels: fc.oneof(labels, scalar),
    status: fc.oneof(fc.constantFrom('firing', 'resolved'), hostile),
    fingerprint: hostile,
    startsAt: at,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ records: fc.array(record, { maxLength: 5 }) }, { requiredKeys: [] }),
  fc.array(record, { maxLength: 3 }),
  alert,
  fc.array(alert, { maxLength: 3 }),
  fc.record(
    { version: fc.constantFrom('4', '3', 4), alerts: fc.array(alert, { maxLength: 3 }) },
    { requiredKeys: [] },
  ),
  fc.record(
    { reason: scalar, to: fc.oneof(fc.constantFrom('next', 'full'), hostile), force: scalar },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      tenantId: name,
      userId: hostile,
      type: fc.oneof(fc.constantFrom('ideas-implementation', 'self-improvement'), hostile),
      input: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      appName: hostile,
      bucket: fc.record({
        start: at,
        stop: at,
        toggles: fc.dictionary(name, fc.record({ yes: scalar, no: scalar })),
      }),
    },
    { requiredKeys: [] },
  ),
  fc.record({ context: fc.dictionary(fc.string(), scalar) }, { requiredKeys: [] }),
);
const token = fc.constantFrom(
  testTokens.admin,
  testTokens.client,
  testTokens.frontend,
  testTokens.alert,
  testTokens.ingest,
  'not-a-token',
  '',
  `Bearer ${testTokens.admin}`,
  undefined,
);

describe('fuzzing every route of the real server', () => {
  it('never answers 5xx, always answers errors in the error shape, and changes nothing when it refuses', async () => {
    // Every route the app registered, except the SDK stream (it never ends) and middleware entries.
    const routes = rg.app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.endsWith('/streaming'))
      .map((r) => ({ method: r.method, path: r.path }));
    const unique = [...new Map(routes.map((r) => [`${r.method} ${r.path}`, r])).values()];
    expect(unique.length).toBeGreaterThan(30);
    const request = fc.record({
      route: fc.constantFrom(...unique),
      otherMethod: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), { freq: 5 }),
      params: fc.array(name, { minLength: 3, maxLength: 3 }),
      query: fc.dictionary(
        fc.constantFrom(
          'limit',
          'before',
          'since',
          'flag',
          'type',
          'namePrefix',
          'userId',
          fc.string() as never,
        ),
        fc.oneof(hostile, fc.integer().map(String)),
        { maxKeys: 3 },
      ),
      token,
      raw: fc.option(
        fc.oneof(fc.string(), fc.constantFrom('{', '[]', 'null', '{"records": [', `${'['.repeat(5000)}`)),
        { freq: 4 },
      ),
      json: body,
      key: fc.option(fc.oneof(fc.uuid(), hostile), { freq: 3 }),
      contentType: fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        undefined,
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let i = 0;
        const path = r.route.path.replace(/:[A-Za-z]+/g, () => encodeURIComponent(r.params[i++ % 3] ?? 'x'));
        const url = new URL(path, base);
        for (const [k, v] of Object.entries(r.query)) url.searchParams.set(k, v);
        const method = r.otherMethod ?? r.route.method;
        const headers: Record<string, string> = {};
        if (r.token !== undefined) headers.authorization = r.token;
        if (r.contentType) headers['content-type'] = r.contentType;
        // fetch itself refuses header values outside Latin-1; the server sees what a client can send.
        if (r.key !== null) headers['idempotency-key'] = r.key.replace(/[^\x20-\x7e]/g, '?');
        const payload = method === 'GET' || method === 'HEAD' ? undefined : (r.raw ?? JSON.stringify(r.json));
        const before = digest();
        const res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(10_000) });
        const text = await res.text();
        expect(res.status, `${method} ${path} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
        // The dashboard answers a person: its refusals are pages (or redirects to sign-in), not JSON.
        const page = path.startsWith('/ui') && !(res.headers.get('content-type') ?? '').includes('json');
        if (res.status >= 400 && page)
          expect(digest(), `${method} ${path} refused but changed state`).toBe(before);
        if (res.status >= 400 && !page) {
          const parsed = JSON.parse(text) as {
            error?: { code: unknown; message: unknown };
            errorCode?: unknown;
          };
          // OFREP's evaluation errors use its protocol's own shape, which its providers parse.
          if (path.startsWith('/ofrep/') && parsed.errorCode !== undefined)
            expect(typeof parsed.errorCode, text).toBe('string');
          else {
            expect(typeof parsed.error?.code, text).toBe('string');
            expect(typeof parsed.error?.message, text).toBe('string');
          }
          expect(text.length, 'error bodies stay small').toBeLessThan(20_000);
          expect(digest(), `${method} ${path} refused with ${res.status} but changed state`).toBe(before);
        }
      }),
      {
        numRuns: Number(process.env.ROLLGATE_FUZZ_RUNS ?? 1000),
        seed: Number(process.env.ROLLGATE_FUZZ_SEED ?? 20261201),
        endOnFailure: true,
      },
    );
  }, 120_000);
});
