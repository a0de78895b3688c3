// The operator CLI against a real Rollgate on a loopback port: every action, the log, status, --help, failures.
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { bundledFlagsDir, tempDir, testConfig, testTokens } from '../helpers/rollgate.ts';

const bin = path.resolve(import.meta.dirname, '../../src/cli/bin.mjs');
const run = promisify(execFile);

// The server generates its admin token into data/tokens.json, as a fresh `npm start` does; its scheduler
// stays out of the way (no holds interleaved with the CLI's own events).
const dataDir = tempDir('rollgate-cli-');
const config = testConfig({
  flagsDir: bundledFlagsDir,
  dataDir,
  env: { ROLLGATE_ADMIN_TOKENS: '', ROLLGATE_TICK_INTERVAL: '24h' },
});
const rg = createRollgate(config, { log: silentLogger });
let url = '';
let port = 0;

/** Runs `rollgate ...args` with only the given environment (plus PATH), so nothing leaks in from the shell. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', ROLLGATE_URL: url, ROLLGATE_TOKEN: generatedAdmin(), ...env },
      cwd: tempDir('rollgate-cwd-'),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const generatedAdmin = () => rg.generatedTokens.tokens.find((t) => t.kind === 'admin')?.secret ?? '';
/** A loopback port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const phase = (flag: string) => rg.controller.requireFlag(flag);

beforeAll(async () => {
  ({ url, port } = await rg.start());
});
afterAll(() => rg.stop());

// Each call starts a Node process (about a second on a loaded machine), so these get more than the default time.
describe('rollgate CLI', { timeout: 120_000 }, () => {
  it('answers --help for every command with exit 0', async () => {
    const commands = ['serve', 'validate', 'replay', 'status', 'events', 'start', 'pause', 'resume'];
    const more = ['promote', 'rollback', 'disable', 'enable'];
    const results = await Promise.all([...commands, ...more].map((c) => cli([c, '--help'])));
    for (const [i, r] of results.entries()) {
      expect(r.code, [...commands, ...more][i]).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: rollgate ${[...commands, ...more][i]}`));
    }
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/start\|pause\|resume\|promote\|rollback FLAG/);
  });

  it('drives a rollout through start, pause, resume, promote --to full and rollback, recording reasons', async () => {
    const flag = 'queue.async-tasks';
    const started = await cli(['start', flag, '--reason', 'ship #1234']);
    expect(started).toMatchObject({ code: 0 });
    expect(started.stdout).toMatch(
      /^queue\.async-tasks: progressing serving 1 %, stage 1\/4 \(event #\d+\)\n$/,
    );
    expect(phase(flag).state.phase).toBe('progressing');

    expect((await cli(['pause', flag, '--reason', 'watching'])).code).toBe(0);
    expect(phase(flag).state).toMatchObject({ phase: 'paused', phaseReason: 'watching' });
    expect((await cli(['resume', flag])).code).toBe(0);
    const full = await cli(['promote', flag, '--to', 'full']);
    expect(full.stdout).toMatch(/completed serving 98 %/);
    expect((await cli(['rollback', flag, '--reason', 'customer reports'])).code).toBe(0);
    expect(phase(flag)).toMatchObject({ percent: 0, state: { phase: 'rolled-back' } });

    const log = await cli(['events', flag, '--limit', '20']);
    expect(log.code).toBe(0);
    const lines = log.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^#\d+ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}rollout\.rolled-back {2}by generated-admin: customer reports$/,
    );
    expect(log.stdout).toMatch(/rollout\.started {2}by generated-admin: ship #1234/);
  });

  it('flips the kill switch with disable and enable', async () => {
    const off = await cli(['disable', 'schema.ai-model', '--reason', 'incident 4711']);
    expect(off.stdout).toMatch(/^schema\.ai-model: ready, disabled serving 0 %/);
    expect(phase('schema.ai-model').state.enabled).toBe(false);
    const again = await cli(['disable', 'schema.ai-model']);
    expect(again.stdout).toMatch(/nothing changed/);
    expect((await cli(['enable', 'schema.ai-model'])).code).toBe(0);
    expect(phase('schema.ai-model').state.enabled).toBe(true);
  });

  it('names the URL and the status when the server refuses, and changes nothing', async () => {
    const before = phase('pricing.dynamic-offers').state.version;
    const conflict = await cli(['pause', 'pricing.dynamic-offers']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toBe(
      `rollgate: POST ${url}/api/admin/flags/pricing.dynamic-offers/rollout/pause answered 409: CONFLICT: cannot pause flag "pricing.dynamic-offers" while it is ready (allowed from: progressing)\n`,
    );
    const badToken = await cli(['status'], { ROLLGATE_TOKEN: 'not-a-real-token-at-all' });
    expect(badToken).toMatchObject({ code: 1 });
    expect(badToken.stderr).toMatch(`GET ${url}/api/admin/flags answered 401: UNAUTHORIZED: invalid token`);
    const missing = await cli(['start', 'no.such-flag']);
    expect(missing.stderr).toMatch(/answered 404: NOT_FOUND: no flag named "no\.such-flag"/);
    const closed = await closedPort();
    const down = await cli(['status'], { ROLLGATE_URL: `http://127.0.0.1:${closed}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      `rollgate: GET http://127.0.0.1:${closed}/api/admin/flags failed: ECONNREFUSED`,
    );
    expect((await cli(['promote', 'x', '--to', 'half'])).code).toBe(2);
    expect(phase('pricing.dynamic-offers').state.version).toBe(before);
  });

  it('finds the server from HOST and PORT and the token in data/tokens.json when nothing else is given', async () => {
    const r = await cli(['status'], {
      ROLLGATE_URL: '',
      ROLLGATE_TOKEN: '',
      HOST: '127.0.0.1',
      PORT: String(port),
      ROLLGATE_DATA_DIR: dataDir,
    });
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header).toMatch(/^FLAG +SWITCH +PHASE +PERCENT +STAGE +VERDICT +REASON$/);
    expect(rows.map((row) => row.split(/\s+/)[0]).sort()).toEqual([
      'pricing.dynamic-offers',
      'queue.async-tasks',
      'schema.ai-model',
    ]);
    const flagged = await cli(['status', '--url', url, '--token', generatedAdmin(), '--json'], {
      ROLLGATE_URL: 'http://127.0.0.1:9',
      ROLLGATE_TOKEN: testTokens.client,
    });
    expect(JSON.parse(flagged.stdout).flags).toHaveLength(3);
  });

  it('keeps printing snapshots with status --watch until stopped', async () => {
    const child = spawn(process.execPath, [bin, 'status', '--watch', '--json', '--interval', '200ms'], {
      env: { PATH: process.env.PATH ?? '', ROLLGATE_URL: url, ROLLGATE_TOKEN: generatedAdmin() },
    });
    const snapshots: unknown[] = [];
    let buffer = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) snapshots.push(JSON.parse(line));
        if (snapshots.length >= 3) resolve();
      });
    });
    child.kill('SIGTERM');
    expect(snapshots[2]).toMatchObject({
      flags: expect.arrayContaining([expect.objectContaining({ name: 'queue.async-tasks' })]),
    });
  });
});
