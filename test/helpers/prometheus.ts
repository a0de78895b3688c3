// A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port, scraping targets the test names.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { tempDir, testConfig, testTokens } from './rollgate.ts';

export const prometheusBinary = '/usr/bin/prometheus';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts Prometheus scraping `targets` (host:port) every second; resolves once it has scraped them. */
export async function startPrometheus(targets: string[]) {
  const dir = tempDir('rollgate-prometheus-');
  const port = await freePort();
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: exporter',
      `    static_configs: [{ targets: [${targets.map((t) => `"${t}"`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    prometheusBinary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    await waitFor('prometheus to scrape its targets', async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      const res = await fetch(`${url}/api/v1/query?query=up`).catch(() => undefined);
      if (!res?.ok) return undefined;
      const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
      const up = body.data.result.filter((r) => r.value[1] === '1').length;
      return up === targets.length ? true : undefined;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/** Rollgate reading Prometheus at `promUrl` in 5 s steps, ticking every 250 ms, with admin calls over HTTP. */
export async function startRollgateOnPrometheus(promUrl: string, flagsDir: string) {
  const config = testConfig({
    flagsDir,
    env: {
      ROLLGATE_PROMETHEUS_URL: promUrl,
      ROLLGATE_PROMETHEUS_STEP: '5s',
      ROLLGATE_PROMETHEUS_DELAY: '2s',
      ROLLGATE_TICK_INTERVAL: '250ms',
    },
  });
  const rg = createRollgate(config, { log: silentLogger });
  const { url } = await rg.start();
  const admin = async (method: string, route: string) => {
    const res = await fetch(`${url}/api/admin/${route}`, {
      method,
      headers: { authorization: `Bearer ${testTokens.admin}`, 'content-type': 'application/json' },
      body: method === 'POST' ? '{}' : undefined,
    });
    return (await res.json()) as { flag: { phase: string; percent: number; phaseReason: string | null } };
  };
  return { rg, url, admin };
}
