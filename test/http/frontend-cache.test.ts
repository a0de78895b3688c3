// Frontend answers per context: remembered while the document stands, never when evaluation drew on randomness or the clock.
import { afterEach, describe, expect, it } from 'vitest';
import { createFrontendAnswers } from '../../src/http/frontend-cache.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

const plan = (name: string, body: string) =>
  `name: ${name}\ndescription: ${name}\nowner: tests\ntype: release\n${body}\n`;

/** Held at 50 % once started; `stickiness` decides whether evaluation needs randomness. */
const halfway = (name: string, stickiness: string) =>
  plan(name, `stickiness: ${stickiness}\nrollout:\n  stages:\n    - { percent: 50 }\n    - { percent: 100 }`);

async function setup(inline: Record<string, string>) {
  const t = buildRollgate({ flagsDir: makeFlagsDir([], inline) });
  open.push(t.rg);
  for (const name of Object.keys(inline)) {
    if (inline[name]?.includes('rollout:')) {
      const res = await t.call('POST', `/api/admin/flags/${name.replace(/\.yaml$/, '')}/rollout/start`);
      expect(res.status).toBe(200);
    }
  }
  let random = 0.5;
  let now = Date.parse('2026-06-01T00:00:00Z');
  const answers = createFrontendAnswers({ served: t.rg.served, random: () => random, now: () => now });
  const names = (context: Record<string, string>) =>
    (JSON.parse(answers.answer(context).body) as { toggles: Array<{ name: string }> }).toggles.map(
      (x) => x.name,
    );
  return {
    ...t,
    answers,
    names,
    setRandom: (r: number) => {
      random = r;
    },
    setNow: (n: number) => {
      now = n;
    },
  };
}

describe('frontend answers per context', () => {
  it('remembers the answer for a context until the served document changes', async () => {
    const { answers, call } = await setup({
      'web.on.yaml': plan('web.on', 'enabled: true'),
      'web.off.yaml': plan('web.off', 'enabled: false'),
    });
    const first = answers.answer({ userId: 'u1', remoteAddress: '10.0.0.1' });
    expect(JSON.parse(first.body).toggles.map((x: { name: string }) => x.name)).toEqual(['web.on']);
    expect(answers.answer({ userId: 'u1', remoteAddress: '10.0.0.1' })).toBe(first);
    expect(answers.answer({ userId: 'u2', remoteAddress: '10.0.0.1' })).not.toBe(first);
    expect((await call('POST', '/api/admin/flags/web.off/enable')).status).toBe(200);
    const after = answers.answer({ userId: 'u1', remoteAddress: '10.0.0.1' });
    expect(after.etag).not.toBe(first.etag);
    expect(JSON.parse(after.body).toggles.map((x: { name: string }) => x.name)).toEqual([
      'web.off',
      'web.on',
    ]);
  });

  it('never remembers an answer that drew on randomness: random stickiness, or default without an id', async () => {
    const { names, setRandom } = await setup({
      'web.random.yaml': halfway('web.random', 'random'),
      'web.default.yaml': halfway('web.default', 'default'),
    });
    // A random id per call buckets the anonymous user anew each time: over 100 draws both answers appear.
    const seen = { 'web.default': new Set<boolean>(), 'web.random': new Set<boolean>() };
    for (let k = 0; k < 100; k++) {
      setRandom(k / 100);
      const on = names({});
      for (const name of Object.keys(seen) as Array<keyof typeof seen>) seen[name].add(on.includes(name));
    }
    expect([...seen['web.default']].sort()).toEqual([false, true]);
    expect([...seen['web.random']].sort()).toEqual([false, true]);
    // With an id, default stickiness buckets by it: the same answer whatever the random source says.
    const withId = names({ userId: 'fixed-user' }).filter((n) => n === 'web.default');
    setRandom(0.001);
    expect(names({ userId: 'fixed-user' }).filter((n) => n === 'web.default')).toEqual(withId);
  });

  it('never remembers an answer that read the clock, unless the context brings its own currentTime', async () => {
    const launch = '2026-07-01T00:00:00.000Z';
    const { names, setNow, answers } = await setup({
      'web.launch.yaml': plan(
        'web.launch',
        `enabled: true\nconstraints:\n  - { contextName: currentTime, operator: DATE_AFTER, value: "${launch}" }`,
      ),
    });
    expect(names({ userId: 'u' })).toEqual([]);
    setNow(Date.parse('2026-07-02T00:00:00Z'));
    expect(names({ userId: 'u' })).toEqual(['web.launch']);
    const pinned = { userId: 'u', currentTime: '2026-06-15T00:00:00.000Z' };
    expect(answers.answer(pinned)).toBe(answers.answer(pinned));
    expect(names(pinned)).toEqual([]);
  });

  it('serves the same toggles and 304s over HTTP as before, per context', async () => {
    const { rg } = await setup({ 'web.on.yaml': plan('web.on', 'enabled: true') });
    const get = (query: string, headers: Record<string, string> = {}) =>
      rg.app.request(`/api/frontend?${query}`, {
        headers: { authorization: testTokens.frontend, ...headers },
      });
    const a = await get('userId=a');
    const etag = a.headers.get('etag') as string;
    const body = (await a.json()) as { toggles: Array<{ name: string }> };
    expect(body.toggles.map((x) => x.name)).toEqual(['web.on']);
    expect((await get('userId=a', { 'if-none-match': etag })).status).toBe(304);
    expect((await get('userId=a&properties[plan]=pro', { 'if-none-match': etag })).status).toBe(304);
  });
});
