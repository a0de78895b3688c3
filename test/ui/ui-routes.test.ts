// The dashboard's HTTP contract through the real app and a real SQLite file: sign-in, session cookie, CSRF, viewer role, actions.
import { describe, expect, it } from 'vitest';
import { buildRollgate, bundledFlagsDir, testTokens } from '../helpers/rollgate.ts';

const viewerToken = 'viewer-secret-0123456789';

function setup() {
  const built = buildRollgate({
    flagsDir: bundledFlagsDir,
    env: { ROLLGATE_VIEWER_TOKENS: `watcher=${viewerToken}` },
  });
  const { rg } = built;
  const request = (
    path: string,
    init: { method?: string; cookie?: string; form?: Record<string, string> } = {},
  ) =>
    Promise.resolve(
      rg.app.request(path, {
        method: init.method ?? (init.form ? 'POST' : 'GET'),
        headers: {
          ...(init.cookie ? { cookie: init.cookie } : {}),
          ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      }),
    );
  const signIn = async (token: string) => {
    const res = await request('/ui/login', { form: { token } });
    const cookie = res.headers.get('set-cookie')?.split(';')[0] ?? '';
    const page = await (await request('/ui/flags/queue.async-tasks', { cookie })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    return { res, cookie, csrf, page };
  };
  return { ...built, request, signIn };
}

describe('dashboard routes', () => {
  it('redirects / to /ui, and /ui to the sign-in form without a session', async () => {
    const { request } = setup();
    const root = await request('/');
    expect([root.status, root.headers.get('location')]).toEqual([302, '/ui']);
    const ui = await request('/ui');
    expect([ui.status, ui.headers.get('location')]).toEqual([303, '/ui/login']);
    const form = await (await request('/ui/login')).text();
    expect(form).toMatch(/<input type="password" name="token" required=""/);
    expect((await request('/ui/stream')).status).toBe(401);
    expect((await request('/ui/flags/queue.async-tasks/live')).status).toBe(401);
  });

  it('signs in with an admin token into an HttpOnly, SameSite=Strict, expiring cookie that carries no secret', async () => {
    const { signIn, request, clock } = setup();
    const { res, cookie, page } = await signIn(testTokens.admin);
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(
      /^rollgate_session=[\w-]+\.[\w-]+; Max-Age=43200; Path=\/ui; HttpOnly; SameSite=Strict$/,
    );
    expect(cookie).not.toContain(testTokens.admin);
    expect(page).not.toContain(testTokens.admin);
    expect(page).toContain('<h1>queue.async-tasks</h1>');
    const flags = await request('/ui', { cookie });
    expect(flags.status).toBe(200);
    expect(flags.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(flags.headers.get('cache-control')).toBe('no-store');
    clock.advance(12 * 3_600_000 + 1);
    expect((await request('/ui', { cookie })).headers.get('location')).toBe('/ui/login');
  });

  it('refuses unknown tokens, tokens of other kinds, and tampered cookies, never echoing a token', async () => {
    const { request, signIn } = setup();
    const wrong = await request('/ui/login', { form: { token: 'not-a-token-0123456789' } });
    expect(wrong.status).toBe(401);
    const body = await wrong.text();
    expect(body).toContain('that token is not valid');
    expect(body).not.toContain('not-a-token-0123456789');
    const client = await request('/ui/login', { form: { token: testTokens.client } });
    expect(client.status).toBe(401);
    expect(await client.text()).toContain('a client token cannot sign in to the dashboard');
    expect((await request('/ui/login', { form: { token: ' ' } })).status).toBe(400);
    const { cookie } = await signIn(testTokens.admin);
    const [payload, signature] = cookie.slice('rollgate_session='.length).split('.');
    const edited = Buffer.from(
      Buffer.from(payload ?? '', 'base64url')
        .toString()
        .replace('"admin"', '"viewer"'),
    ).toString('base64url');
    const tampered = await request('/ui', { cookie: `rollgate_session=${edited}.${signature}` });
    expect(tampered.headers.get('location')).toBe('/ui/login');
  });

  it('runs an action with the CSRF token, as the signed-in actor, and refuses it without', async () => {
    const { signIn, request, rg } = setup();
    const { cookie, csrf } = await signIn(testTokens.admin);
    const action = '/ui/flags/queue.async-tasks/actions/start';
    const missing = await request(action, { cookie, form: { reason: 'x' } });
    expect(missing.status).toBe(403);
    const forged = await request(action, { cookie, form: { _csrf: `${csrf.slice(0, -2)}xx`, reason: 'x' } });
    expect(forged.status).toBe(403);
    expect(rg.controller.requireFlag('queue.async-tasks').state.phase).toBe('ready');
    const tooLong = await request(action, { cookie, form: { _csrf: csrf, reason: 'r'.repeat(1001) } });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toMatch(/reason: Too big/);
    const ok = await request(action, { cookie, form: { _csrf: csrf, reason: 'ship #1234' } });
    expect([ok.status, ok.headers.get('location')]).toEqual([303, '/ui/flags/queue.async-tasks']);
    const [event] = rg.controller.events.list({ flag: 'queue.async-tasks', limit: 1 });
    expect(event).toMatchObject({ type: 'rollout.started', actor: 'ops (dashboard)', reason: 'ship #1234' });
    const conflict = await request(action, { cookie, form: { _csrf: csrf, reason: 'again' } });
    expect(conflict.status).toBe(409);
    expect(await conflict.text()).toContain(
      'cannot start flag &quot;queue.async-tasks&quot; while it is progressing',
    );
    const off = await request('/ui/flags/queue.async-tasks/actions/disable', {
      cookie,
      form: { _csrf: csrf, reason: 'incident' },
    });
    expect(off.status).toBe(303);
    expect(rg.controller.requireFlag('queue.async-tasks').state.enabled).toBe(false);
  });

  it('lets a viewer token read every page but act on nothing', async () => {
    const { signIn, request, rg } = setup();
    const { cookie, csrf, page } = await signIn(viewerToken);
    expect(page).toContain('watcher (read-only)');
    expect(page).not.toContain('class="actions"');
    expect(csrf).not.toBe('');
    const res = await request('/ui/flags/queue.async-tasks/actions/start', {
      cookie,
      form: { _csrf: csrf, reason: 'x' },
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('read-only (viewer)');
    expect(rg.controller.requireFlag('queue.async-tasks').state.phase).toBe('ready');
  });

  it('refuses forms posted from another site, sign-in included', async () => {
    const { rg } = setup();
    const res = await rg.app.request('/ui/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      body: `token=${testTokens.admin}`,
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('signs out: the old cookie no longer opens a page', async () => {
    const { signIn, request } = setup();
    const { cookie, csrf } = await signIn(testTokens.admin);
    const out = await request('/ui/logout', { cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^rollgate_session=; Max-Age=0; Path=\/ui/);
    expect((await request('/ui', { cookie })).headers.get('location')).toBe('/ui/login');
  });

  it('reads out an experiment per arm: exposed users, conversions, revenue per user with intervals', async () => {
    const { signIn, request, call, clock } = setup();
    const { cookie } = await signIn(testTokens.admin);
    const at = clock();
    const arm = (name: string, units: number, conversions: number, revenue: number) => ({
      flag: 'pricing.dynamic-offers',
      arm: name,
      at,
      units,
      conversions,
      revenue,
      revenueSquares: revenue * 19,
    });
    const posted = await call('POST', '/api/signals', {
      token: testTokens.ingest,
      body: {
        records: [
          arm('control', 1000, 50, 950),
          arm('price-17', 500, 30, 510),
          arm('price-21', 500, 20, 420),
        ],
      },
    });
    expect(posted.status).toBe(200);
    const page = await (await request('/ui/flags/pricing.dynamic-offers', { cookie })).text();
    const rows = [
      ...page.matchAll(/<tr><th scope="row">([\w-]+)<\/th>((?:<td class="num">[^<]*<\/td>)+)<\/tr>/g),
    ].map((m) => [m[1], ...[...(m[2] ?? '').matchAll(/<td class="num">([^<]*)<\/td>/g)].map((c) => c[1])]);
    expect(rows).toEqual([
      [
        'control',
        '1,000',
        '50',
        expect.stringMatching(/^5\.00 % \(3\.\d\d % – 6\.\d\d %\)$/),
        expect.stringMatching(/^0\.950 \(/),
      ],
      ['price-17', '500', '30', expect.stringMatching(/^6\.00 % \(/), expect.stringMatching(/^1\.020 \(/)],
      ['price-21', '500', '20', expect.stringMatching(/^4\.00 % \(/), expect.stringMatching(/^0\.840 \(/)],
    ]);
  });

  it('filters the flags page by phase and answers an unknown flag with 404', async () => {
    const { signIn, request } = setup();
    const { cookie } = await signIn(testTokens.admin);
    const ready = await (await request('/ui?phase=progressing', { cookie })).text();
    expect(ready).toContain('0 of 3 flags');
    expect((await request('/ui/flags/nope', { cookie })).status).toBe(404);
  });
});
