// Rollgate as `npm start` runs it, in a child process the test can kill without warning (SIGKILL).
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { testTokens } from './rollgate.ts';

export const root = path.resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The environment of a quiet test server: all tokens configured, no watcher, no guarded service. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return {
    ROLLGATE_ADMIN_TOKENS: `ops=${testTokens.admin}`,
    ROLLGATE_CLIENT_TOKENS: `service=${testTokens.client}`,
    ROLLGATE_INGEST_TOKENS: `pipeline=${testTokens.ingest}`,
    ROLLGATE_ALERT_TOKENS: `alertmanager=${testTokens.alert}`,
    ROLLGATE_FRONTEND_TOKENS: `web=${testTokens.frontend}`,
    ROLLGATE_SERVICE: 'off',
    ROLLGATE_WATCH: 'false',
    ROLLGATE_LOG_LEVEL: 'error',
    ...env,
  };
}

/** Starts `src/main.ts` with `env` and waits until /health/ready answers 200. */
export async function startChild(env: Record<string, string>, children: ChildProcess[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; i < 150; i++) {
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url, stderr: () => stderr };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`rollgate did not become ready: ${stderr}`);
}

export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
