import { afterEach, describe, expect, it } from 'vitest';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { sdkPlanFiles } from '../helpers/sdk-server.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

type Features = { features: Array<{ name: string; enabled: boolean }>; query: Record<string, unknown> };
const json = <T>(res: Response) => res.json() as Promise<T>;

function setup() {
  const t = buildRollgate({ flagsDir: makeFlagsDir(sdkPlanFiles) });
  open.push(t.rg);
  // Unleash SDKs send the client token raw, without "Bearer".
  const client = (
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: string } = {},
  ) =>
    t.rg.app.request(url, {
      method,
      headers: { authorization: testTokens.client, ...init.headers },
      body: init.body,
    });
  return { ...t, client };
}

describe('GET /api/client/features', () => {
  it('serves the cached document with a strong ETag and answers 304 to If-None-Match', async () => {
    const { client, rg } = setup();
    const res = await client('GET', '/api/client/features');
    expect(res.status).toBe(200);
    const etag = res.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(await res.text()).toBe(rg.served.current().body);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await client('GET', '/api/client/features', {
        headers: { 'if-none-match': ifNoneMatch },
      });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(await again.text()).toBe('');
    }
    const stale = await client('GET', '/api/client/features', { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
  });

  it('changes the ETag when a flag changes, so polling SDKs fetch the new document', async () => {
    const { client, call } = setup();
    const before = (await client('GET', '/api/client/features')).headers.get('etag') as string;
    await call('POST', '/api/admin/flags/demo.toggle/enable');
    const res = await client('GET', '/api/client/features', { headers: { 'if-none-match': before } });
    expect(res.status).toBe(200);
    const body = await json<Features>(res);
    expect(body.features.find((f) => f.name === 'demo.toggle')?.enabled).toBe(true);
  });

  it('filters by namePrefix and accepts the project and tag parameters SDKs may send', async () => {
    const { client } = setup();
    const res = await client('GET', '/api/client/features?namePrefix=demo.&project=default&tag=simple:x');
    expect(res.status).toBe(200);
    const body = await json<Features>(res);
    expect(body.features.map((f) => f.name)).toEqual(['demo.kill', 'demo.targeted', 'demo.toggle']);
    expect(body.query).toMatchObject({ namePrefix: 'demo.' });
    const etag = res.headers.get('etag') as string;
    const again = await client('GET', '/api/client/features?namePrefix=demo.', {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
  });

  it('serves one feature by name, 404 for an unknown one', async () => {
    const { client } = setup();
    const res = await client('GET', '/api/client/features/demo.targeted');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: 'demo.targeted',
      dependencies: [{ feature: 'demo.kill' }],
    });
    const missing = await client('GET', '/api/client/features/nope');
    expect(missing.status).toBe(404);
    expect((await json<{ error: { code: string } }>(missing)).error.code).toBe('NOT_FOUND');
  });
});

describe('POST /api/client/register and /api/client/metrics', () => {
  it('accepts a registration with 202', async () => {
    const { client } = setup();
    const body = JSON.stringify({ appName: 'svc', instanceId: 'i-1', strategies: ['default'], started: 'x' });
    expect((await client('POST', '/api/client/register', { body })).status).toBe(202);
  });

  it.each([
    ['an empty body', ''],
    ['an empty object', '{}'],
    ['an odd bucket', '{"appName":1,"bucket":{"start":"nonsense","toggles":{"demo.kill":{"yes":"x"}}}}'],
    ['unknown impact metrics', '{"impactMetrics":[{"name":"x","type":"gauge","samples":[{"value":1}]},7]}'],
    [
      'fields from a newer SDK',
      '{"appName":"svc","bucket":{"toggles":{}},"yggdrasilVersion":null,"future":[1]}',
    ],
  ])('answers 202 to %s: a 400 would make the SDK stop sending', async (_label, body) => {
    const { client } = setup();
    const res = await client('POST', '/api/client/metrics', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
  });

  it('rejects only a body that is not a JSON object', async () => {
    const { client } = setup();
    expect((await client('POST', '/api/client/metrics', { body: 'not json' })).status).toBe(400);
    expect((await client('POST', '/api/client/metrics', { body: '[1,2]' })).status).toBe(400);
  });

  it('stores yes/no/variant counts as exposure signals per arm', async () => {
    const { client, rg } = setup();
    const body = JSON.stringify({
      appName: 'svc',
      instanceId: 'i-1',
      bucket: {
        start: new Date().toISOString(),
        stop: new Date().toISOString(),
        toggles: { 'xcheck.p50': { yes: 7, no: 3, variants: { a: 4, b: 3, disabled: 3 } } },
      },
    });
    const res = await client('POST', '/api/client/metrics', { body });
    expect(res.status).toBe(202);
    expect((await json<{ accepted: number }>(res)).accepted).toBeGreaterThan(0);
    const rows = rg.db
      .prepare(
        `SELECT arm, SUM(count) AS count FROM signal_buckets WHERE flag = 'xcheck.p50' GROUP BY arm ORDER BY arm`,
      )
      .all();
    expect(rows).toEqual([
      { arm: 'a', count: 4 },
      { arm: 'b', count: 3 },
      { arm: 'control', count: 3 },
    ]);
  });
});
