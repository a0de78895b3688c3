import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { revisionFrom } from '../../src/http/delta-routes.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { sdkPlanFiles } from '../helpers/sdk-server.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

type Events = { events: Array<Record<string, unknown> & { type: string; eventId: number }> };

function setup() {
  const flagsDir = makeFlagsDir(sdkPlanFiles);
  const t = buildRollgate({ flagsDir });
  open.push(t.rg);
  const delta = (ifNoneMatch?: string, q = '') =>
    t.rg.app.request(`/api/client/delta${q}`, {
      headers: { authorization: testTokens.client, ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}) },
    });
  return { ...t, flagsDir, delta };
}

describe('GET /api/client/delta', () => {
  it('hydrates an SDK that sends no revision, with the revision as its ETag', async () => {
    const { delta, rg } = setup();
    const res = await delta();
    expect(res.status).toBe(200);
    const doc = rg.served.current();
    expect(res.headers.get('etag')).toBe(`"${doc.revision}"`);
    const body = (await res.json()) as Events;
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({ type: 'hydration', eventId: doc.revision, segments: [] });
    expect((body.events[0]?.features as unknown[] | undefined)?.length).toBe(doc.features.length);
  });

  it('answers 304 with no body while the SDK holds the current revision', async () => {
    const { delta } = setup();
    const etag = (await delta()).headers.get('etag') as string;
    for (const sent of [etag, `W/${etag}`]) {
      const res = await delta(sent);
      expect(res.status).toBe(304);
      expect(await res.text()).toBe('');
    }
  });

  it('sends only the flag that changed after the SDK revision, then 304 at the new one', async () => {
    const { delta, call } = setup();
    const before = (await delta()).headers.get('etag') as string;
    await call('POST', '/api/admin/flags/demo.toggle/enable', { body: { reason: 'delta test' } });
    const res = await delta(before);
    expect(res.status).toBe(200);
    const after = res.headers.get('etag') as string;
    expect(Number(JSON.parse(after))).toBeGreaterThan(Number(JSON.parse(before)));
    const body = (await res.json()) as Events;
    expect(body.events.map((e) => e.type)).toEqual(['feature-updated']);
    expect(body.events[0]?.feature).toMatchObject({ name: 'demo.toggle', enabled: true });
    expect((await delta(after)).status).toBe(304);
  });

  it('announces a removed plan as feature-removed', async () => {
    const { delta, call, flagsDir } = setup();
    const before = (await delta()).headers.get('etag') as string;
    fs.rmSync(path.join(flagsDir, 'demo.toggle.yaml'));
    expect((await call('POST', '/api/admin/plans/reload')).status).toBe(200);
    const body = (await (await delta(before)).json()) as Events;
    expect(body.events).toContainEqual(
      expect.objectContaining({ type: 'feature-removed', featureName: 'demo.toggle', project: 'default' }),
    );
  });

  it('hydrates again when the revision is unknown here (future, foreign hash or garbage)', async () => {
    const { delta, rg } = setup();
    const future = `"${rg.served.current().revision + 1000}"`;
    for (const sent of [future, '"Zm9vYmFy"', 'nonsense']) {
      const body = (await (await delta(sent)).json()) as Events;
      expect(body.events.map((e) => e.type)).toEqual(['hydration']);
    }
  });

  it('filters hydration and changes by namePrefix', async () => {
    const { delta, call } = setup();
    const res = await delta(undefined, '?namePrefix=xcheck.');
    const hydration = ((await res.json()) as Events).events[0];
    const names = ((hydration?.features ?? []) as Array<{ name: string }>).map((f) => f.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => n.startsWith('xcheck.'))).toBe(true);
    const etag = res.headers.get('etag') as string;
    await call('POST', '/api/admin/flags/demo.toggle/enable', { body: { reason: 'outside the prefix' } });
    const next = await delta(etag, '?namePrefix=xcheck.');
    expect(next.status).toBe(200);
    expect(((await next.json()) as Events).events).toEqual([]);
    expect(next.headers.get('etag')).not.toBe(etag);
  });

  it('needs a client token', async () => {
    const { rg } = setup();
    expect((await rg.app.request('/api/client/delta')).status).toBe(401);
    const frontend = await rg.app.request('/api/client/delta', {
      headers: { authorization: testTokens.frontend },
    });
    expect(frontend.status).toBe(403);
  });
});

describe('revisionFrom', () => {
  it('reads a quoted or weak revision and refuses anything else', () => {
    expect(revisionFrom('"42"')).toBe(42);
    expect(revisionFrom('W/"7"')).toBe(7);
    expect(revisionFrom('"7", "8"')).toBe(7);
    expect(revisionFrom(undefined)).toBeUndefined();
    expect(revisionFrom('"abc"')).toBeUndefined();
    expect(revisionFrom('"-1"')).toBeUndefined();
  });
});
