import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startChild } from '../helpers/child-server.ts';
import { fixturePlansDir, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
const startServer = (env: Record<string, string>) => startChild(env, children);

describe('kill -9 mid-rollout', () => {
  it('resumes at the same stage with the same stage start and event log after SIGKILL', async () => {
    const env = {
      PORT: String(await freePort()),
      ROLLGATE_DATA_DIR: tempDir(),
      ROLLGATE_FLAGS_DIR: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
      ROLLGATE_ADMIN_TOKENS: `ops=${testTokens.admin}`,
      ROLLGATE_SERVICE: 'off',
      ROLLGATE_WATCH: 'false',
      ROLLGATE_LOG_LEVEL: 'error',
    };
    const admin = (url: string, method: string, route: string) =>
      fetch(`${url}${route}`, { method, headers: { authorization: `Bearer ${testTokens.admin}` } }).then(
        (r) =>
          r.json() as Promise<{ flag: Record<string, unknown>; events: Array<{ id: number; type: string }> }>,
      );

    const first = await startServer(env);
    await admin(first.url, 'POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    const promoted = await admin(first.url, 'POST', '/api/admin/flags/checkout.new-flow/rollout/promote');
    expect(promoted.flag).toMatchObject({ phase: 'progressing', percent: 5 });
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startServer(env);
    const after = await admin(second.url, 'GET', '/api/admin/flags/checkout.new-flow');
    for (const key of ['phase', 'percent', 'stage', 'stageStartedAt', 'startedAt', 'version']) {
      expect(after.flag[key], key).toEqual(promoted.flag[key]);
    }
    expect(after.events.slice(0, 2).map((e) => e.type)).toEqual(['rollout.promoted', 'rollout.started']);
  });
});
