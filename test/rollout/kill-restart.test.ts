import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePlansDir, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Rollgate as `npm start` runs it, in its own process, so the test can kill it without warning. */
async function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('rollgate did not become ready');
}

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
