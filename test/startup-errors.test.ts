// Start-up problems an operator can fix end the process with one line naming the file and the setting, never a stack trace.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, freePort, root } from './helpers/child-server.ts';
import { bundledFlagsDir, tempDir } from './helpers/rollgate.ts';

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, ...childEnv({ ROLLGATE_FLAGS_DIR: bundledFlagsDir, ...env }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at\s/);

describe('start-up errors', () => {
  it('names the database file and ROLLGATE_DATA_DIR when rollgate.db is not a database', async () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'rollgate.db'), 'this is not sqlite '.repeat(400));
    const { code, stderr } = await run({ ROLLGATE_DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(stderr).toMatch(/ROLLGATE_DATA_DIR: .*rollgate\.db: file is not a database \(SQLITE_NOTADB\)/);
    noStack(stderr);
  });

  it('names ROLLGATE_DATABASE_URL, with its password redacted, when PostgreSQL refuses connections', async () => {
    // A port nothing listens on: bound and closed just before.
    const port = await freePort();
    const { code, stderr } = await run({
      ROLLGATE_DATA_DIR: tempDir(),
      ROLLGATE_DATABASE_URL: `postgres://rollgate:s3cret-pw@127.0.0.1:${port}/rollgate`,
      PORT: String(await freePort()),
    });
    expect(code).toBe(1);
    expect(stderr).toContain(
      `ROLLGATE_DATABASE_URL: cannot reach PostgreSQL at postgres://rollgate:***@127.0.0.1:${port}/rollgate`,
    );
    expect(stderr).toMatch(/ECONNREFUSED/);
    expect(stderr).not.toContain('s3cret-pw');
    noStack(stderr);
  });

  it('names ROLLGATE_DATA_DIR when the data directory cannot be created', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    const { code, stderr } = await run({
      ROLLGATE_DATA_DIR: path.join(file, 'data'),
      PORT: String(await freePort()),
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/ROLLGATE_DATA_DIR: .*ENOTDIR/);
    noStack(stderr);
  });

  it('names HOST/PORT when the port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const { code, stderr } = await run({ ROLLGATE_DATA_DIR: tempDir(), PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(stderr).toContain('HOST/PORT: EADDRINUSE');
      noStack(stderr);
    } finally {
      taken.close();
    }
  });

  it('refuses to start on an empty plans folder that would remove every stored flag', async () => {
    const dataDir = tempDir();
    const port = String(await freePort());
    const first = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...childEnv({ ROLLGATE_FLAGS_DIR: bundledFlagsDir, ROLLGATE_DATA_DIR: dataDir, PORT: port }),
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/health/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((resolve) => {
      first.once('exit', resolve);
      first.kill('SIGTERM');
    });
    const { code, stderr } = await run({
      ROLLGATE_DATA_DIR: dataDir,
      ROLLGATE_FLAGS_DIR: tempDir(),
      PORT: port,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /ROLLGATE_FLAGS_DIR: .*would remove 3 of 3 flags.*ROLLGATE_ALLOW_MASS_REMOVAL=true/,
    );
    noStack(stderr);
  });
});
