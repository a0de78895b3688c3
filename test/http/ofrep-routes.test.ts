import { afterEach, describe, expect, it } from 'vitest';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { sdkPlanFiles } from '../helpers/sdk-server.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup() {
  const t = buildRollgate({ flagsDir: makeFlagsDir(sdkPlanFiles) });
  open.push(t.rg);
  const ofrep = (path: string, body?: string, headers: Record<string, string> = {}) =>
    t.rg.app.request(`/ofrep/v1/evaluate/flags${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${testTokens.client}`,
        'content-type': 'application/json',
        ...headers,
      },
      body,
    });
  return { ...t, ofrep };
}

const context = (ctx: Record<string, unknown>) => JSON.stringify({ context: ctx });

type Evaluated = {
  key: string;
  value: unknown;
  variant: string;
  reason: string;
  metadata: Record<string, unknown>;
};
const json = <T = Evaluated>(res: Response) => res.json() as Promise<T>;

describe('POST /ofrep/v1/evaluate/flags/{key}', () => {
  it('evaluates a boolean flag with its reason, variant and metadata', async () => {
    const { ofrep } = setup();
    const res = await ofrep('/demo.targeted', context({ targetingKey: 'u1', region: 'eu' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      key: 'demo.targeted',
      value: true,
      reason: 'TARGETING_MATCH',
      variant: 'on',
      metadata: { enabled: true },
    });
    const off = await (await ofrep('/demo.toggle', context({ targetingKey: 'u1' }))).json();
    expect(off).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off' });
    const unmatched = await (
      await ofrep('/demo.targeted', context({ targetingKey: 'u1', region: 'us' }))
    ).json();
    expect(unmatched).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('evaluates a variant flag to the variant name, split by the targeting key, payload in metadata', async () => {
    const { ofrep, call } = setup();
    await call('POST', '/api/admin/flags/xcheck.p25/rollout/start');
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        json(await ofrep('/xcheck.p25', context({ targetingKey: `k${i}` }))),
      ),
    );
    const on = results.filter((r) => r.metadata.enabled);
    expect(on.length).toBeGreaterThan(0);
    for (const r of on) {
      expect(['red', 'blue', 'green']).toContain(r.value);
      expect(r).toMatchObject({ variant: r.value, reason: 'SPLIT' });
    }
    expect(results.filter((r) => !r.metadata.enabled).every((r) => r.value === 'disabled')).toBe(true);
    const red = on.find((r) => r.value === 'red');
    if (red) expect(red.metadata).toMatchObject({ payloadType: 'string', payload: 'crimson' });
  });

  it('takes a context userId over the targeting key', async () => {
    const { ofrep, call } = setup();
    await call('POST', '/api/admin/flags/xcheck.p50/rollout/start');
    const byKey = await (await ofrep('/xcheck.p50', context({ targetingKey: 'ann' }))).json();
    const byUserId = await (
      await ofrep('/xcheck.p50', context({ targetingKey: 'zed', userId: 'ann' }))
    ).json();
    expect(byUserId).toEqual(byKey);
  });

  it('answers FLAG_NOT_FOUND with 404, PARSE_ERROR and INVALID_CONTEXT with 400', async () => {
    const { ofrep } = setup();
    const missing = await ofrep('/no.such-flag', context({}));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      key: 'no.such-flag',
      errorCode: 'FLAG_NOT_FOUND',
      errorDetails: 'no flag named "no.such-flag"',
    });
    const garbled = await ofrep('/demo.kill', '{"context":');
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toMatchObject({ key: 'demo.kill', errorCode: 'PARSE_ERROR' });
    for (const body of ['{"context":"me"}', '{"context":{"targetingKey":42}}']) {
      const invalid = await ofrep('/demo.kill', body);
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({ key: 'demo.kill', errorCode: 'INVALID_CONTEXT' });
    }
    expect((await ofrep('/demo.kill')).status).toBe(200);
  });
});

describe('POST /ofrep/v1/evaluate/flags (bulk)', () => {
  it('evaluates every flag for the context, with an ETag and 304 while nothing changes', async () => {
    const { ofrep, call } = setup();
    const res = await ofrep('', context({ targetingKey: 'u1', region: 'eu' }));
    expect(res.status).toBe(200);
    const body = await json<{ flags: Evaluated[] }>(res);
    expect(body.flags.map((f) => f.key)).toEqual([
      'demo.kill',
      'demo.targeted',
      'demo.toggle',
      'xcheck.p1',
      'xcheck.p25',
      'xcheck.p5',
      'xcheck.p50',
      'xcheck.p99',
    ]);
    expect(body.flags[0]).toEqual({
      key: 'demo.kill',
      value: true,
      reason: 'STATIC',
      variant: 'on',
      metadata: { enabled: true },
    });
    const etag = res.headers.get('etag') as string;
    const same = await ofrep('', context({ targetingKey: 'u1', region: 'eu' }), { 'if-none-match': etag });
    expect(same.status).toBe(304);
    await call('POST', '/api/admin/flags/demo.kill/disable');
    const changed = await ofrep('', context({ targetingKey: 'u1', region: 'eu' }), { 'if-none-match': etag });
    expect(changed.status).toBe(200);
  });

  it('answers a malformed bulk request with 400 and an error code', async () => {
    const { ofrep } = setup();
    const res = await ofrep('', 'nope');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errorCode: 'PARSE_ERROR' });
    const invalid = await ofrep('', '{"context":[1]}');
    expect(await invalid.json()).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
  });
});
