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
  const frontend = (
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ) =>
    t.rg.app.request(url, {
      method,
      headers: { authorization: testTokens.frontend, ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  return { ...t, frontend };
}

type Toggle = {
  name: string;
  enabled: boolean;
  variant: { name: string; enabled: boolean };
  impressionData: boolean;
};
type Toggles = { toggles: Array<Toggle & { variant: { payload?: { type: string } } }> };
const names = (body: Toggles) => body.toggles.map((t) => t.name);
const json = (res: Response) => res.json() as Promise<Toggles>;

describe('GET and POST /api/frontend', () => {
  it('returns only the enabled toggles for the context in the query, properties[x] included', async () => {
    const { frontend } = setup();
    const eu = await json(await frontend('GET', '/api/frontend?userId=u1&properties[region]=eu'));
    expect(names(eu)).toEqual(['demo.kill', 'demo.targeted']);
    expect(eu.toggles[0]).toEqual({
      name: 'demo.kill',
      enabled: true,
      variant: { name: 'disabled', enabled: false, feature_enabled: true },
      impressionData: false,
    });
    const us = await json(await frontend('GET', '/api/frontend?userId=u1&region=us'));
    expect(names(us)).toEqual(['demo.kill']);
  });

  it('takes the context from a POST body, as { context } or bare', async () => {
    const { frontend } = setup();
    for (const body of [
      { context: { userId: 'u1', properties: { region: 'EU' } } },
      { userId: 'u1', region: 'eu' },
    ]) {
      const res = await frontend('POST', '/api/frontend', { body });
      expect(res.status).toBe(200);
      expect(names(await json(res))).toContain('demo.targeted');
    }
  });

  it('serves variants with their payload for users in a running rollout', async () => {
    const { frontend, call } = setup();
    await call('POST', '/api/admin/flags/xcheck.p99/rollout/start');
    const body = await json(await frontend('GET', '/api/frontend?userId=someone'));
    const toggle = body.toggles.find((t) => t.name === 'xcheck.p99');
    expect(toggle?.variant).toMatchObject({ enabled: true, payload: { type: 'number' } });
    expect(['price-17', 'price-21']).toContain(toggle?.variant.name);
  });

  it('answers 304 when the evaluated toggles for this context have not changed', async () => {
    const { frontend, call } = setup();
    const first = await frontend('GET', '/api/frontend?userId=u1');
    const etag = first.headers.get('etag') as string;
    expect(
      (await frontend('GET', '/api/frontend?userId=u1', { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    await call('POST', '/api/admin/flags/demo.toggle/enable');
    expect(
      (await frontend('GET', '/api/frontend?userId=u1', { headers: { 'if-none-match': etag } })).status,
    ).toBe(200);
  });

  it('allows browsers from any origin: preflight without a token, ETag exposed', async () => {
    const { rg, frontend } = setup();
    const preflight = await rg.app.request('/api/frontend', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization,unleash-appname,if-none-match',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const res = await frontend('GET', '/api/frontend', { headers: { origin: 'https://shop.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('ETag');
    const denied = await rg.app.request('/api/frontend', { headers: { origin: 'https://shop.example' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('accepts frontend metrics and registrations with 202', async () => {
    const { frontend, rg } = setup();
    const metrics = await frontend('POST', '/api/frontend/client/metrics', {
      body: {
        appName: 'web',
        instanceId: 'browser',
        bucket: {
          start: new Date().toISOString(),
          toggles: { 'demo.kill': { yes: 2, no: 0, variants: {} } },
        },
      },
    });
    expect(metrics.status).toBe(202);
    const register = await frontend('POST', '/api/frontend/client/register', { body: { appName: 'web' } });
    expect(register.status).toBe(202);
    const row = rg.db.prepare(`SELECT SUM(count) AS n FROM signal_buckets WHERE flag = 'demo.kill'`).get();
    expect(row).toEqual({ n: 2 });
  });
});
