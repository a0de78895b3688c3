// `rollgate audit` against real servers on loopback ports: exit 1 when a gate fails, 0 when none does, 2 on bad flags.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { makeFlagsDir, tempDir, testConfig, testTokens } from '../helpers/rollgate.ts';

const bin = path.resolve(import.meta.dirname, '../../src/cli/bin.mjs');
const run = promisify(execFile);

const plan = (name: string, watch: string) => `
name: ${name}
description: audit CLI test
owner: qa
type: release
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
${watch}
  holdback: 2
`;

function server(files: Record<string, string>) {
  const config = testConfig({ flagsDir: makeFlagsDir([], files), env: { ROLLGATE_TICK_INTERVAL: '24h' } });
  return createRollgate(config, { log: silentLogger });
}

const failing = server({ 'bare.yaml': plan('bare', '') });
const passing = server({ 'alerted.yaml': plan('alerted', '  alerts: [{ match: { alertname: X } }]') });
let urls: string[] = [];

async function cli(url: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, 'audit', ...args], {
      env: { PATH: process.env.PATH ?? '', ROLLGATE_URL: url, ROLLGATE_TOKEN: testTokens.admin },
      cwd: tempDir('rollgate-cwd-'),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  urls = [(await failing.start()).url, (await passing.start()).url];
});
afterAll(async () => {
  await failing.stop();
  await passing.stop();
});

describe('rollgate audit', { timeout: 120_000 }, () => {
  it('exits 1 when a gate fails, naming it and what to do, and lists the ledger', async () => {
    const killed = await fetch(`${urls[0]}/api/admin/flags/bare/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testTokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'incident 4711' }),
    });
    expect(killed.status).toBe(200);
    const r = await cli(urls[0] as string, []);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^FAIL {2}blind-spot\.unwatched +bare has a rollout with no guardrail and no alert rule/m,
    );
    expect(r.stdout).toMatch(/→ add guardrails \(errors, latency\) or an alert rule to the plan/);
    expect(r.stdout).toMatch(/audit FAIL at .*: 1 fail, \d+ warn, \d+ pass; ledger: 1 human override/);
    expect(r.stdout).toMatch(/^ {2}\S+ {2}kill-switch +bare by ops: incident 4711$/m);
  });

  it('exits 0 when nothing fails, and prints the report as JSON with --format json', async () => {
    const r = await cli(urls[1] as string, ['--format', 'json', '--traffic', '600/min']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.counts.fail).toBe(0);
    expect(report.checks).toContainEqual(
      expect.objectContaining({
        check: 'power',
        status: 'warn',
        numbers: expect.objectContaining({ trafficPerMinute: 600, alerts: 1 }),
      }),
    );
  });

  it('refuses a bad --traffic or --format with exit 2 before calling the server', async () => {
    const traffic = await cli(urls[1] as string, ['--traffic', 'lots']);
    expect(traffic.code).toBe(2);
    expect(traffic.stderr).toMatch(/--traffic "lots"/);
    const format = await cli(urls[1] as string, ['--format', 'xml']);
    expect(format).toMatchObject({ code: 2, stderr: expect.stringMatching(/--format must be text or json/) });
  });
});
