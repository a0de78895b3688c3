// npm run bench:serve — GET /api/client/features (200 and 304) under wrk: Rollgate, ticking real rollouts, beside Unleash 7.5.1.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../config.ts';
import { createRollgate } from '../../main.ts';
import { type LoadGenerator, type LoadResult, pickLoadGenerator } from './load.ts';
import { feedRollouts } from './rollout-signals.ts';
import { startUnleash, UNLEASH_VERSION, type UnleashPeer } from './unleash-peer.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    history: { type: 'string', default: '24' },
    tick: { type: 'string', default: '1s' },
    'no-unleash': { type: 'boolean', default: false },
    /** Also GET /api/frontend for one browser context (the per-context answers), beside Unleash's frontend API. */
    frontend: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const historyHours = Number(values.history);
const pg = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
};

interface Target {
  name: string;
  url: string;
  /** The route and the token for it: the client document, or the frontend API for one context. */
  path: string;
  token: string;
  /** The server's event loop, when it is this process's (Rollgate): how long it stalled during the row. */
  loop?: boolean;
}

interface Row extends LoadResult {
  target: string;
  path: string;
  response: '200' | '304';
  loopMaxMs?: number;
}

/** Checks the status a row will measure, and returns the ETag to send back for its 304 row. */
async function probe(t: Target, ifNoneMatch?: string): Promise<{ status: number; etag: string }> {
  const headers: Record<string, string> = { authorization: t.token };
  if (ifNoneMatch) headers['if-none-match'] = ifNoneMatch;
  const res = await fetch(`${t.url}${t.path}`, { headers });
  await res.arrayBuffer();
  return { status: res.status, etag: res.headers.get('etag') ?? '' };
}

const sdkIdentity = {
  'unleash-appname': 'bench-serve',
  'unleash-instanceid': 'bench-serve-1',
  'unleash-interval': '15000',
};

async function measure(t: Target, gen: LoadGenerator): Promise<Row[]> {
  const rows: Row[] = [];
  for (const response of ['200', '304'] as const) {
    const ifNoneMatch = response === '304' ? (await probe(t)).etag : undefined;
    const { status } = await probe(t, ifNoneMatch);
    if (String(status) !== response) {
      console.error(
        `note: ${t.name} answers ${t.path} with ${status} where the row expects ${response}: row skipped`,
      );
      continue;
    }
    // Named as unleash-client names its polls, so the SDK instance registry records every one of them.
    const headers: Record<string, string> = { authorization: t.token, ...sdkIdentity };
    if (ifNoneMatch) headers['if-none-match'] = ifNoneMatch;
    const opts = { url: `${t.url}${t.path}`, headers, connections };
    await gen.run({ ...opts, seconds: warmup });
    const loop = monitorEventLoopDelay({ resolution: 1 });
    if (t.loop) loop.enable();
    const result = await gen.run({ ...opts, seconds });
    loop.disable();
    if (response === '304' && (await probe(t, ifNoneMatch)).status !== 304) {
      console.error(`note: ${t.name}'s document changed during the 304 row; some of its answers were 200s`);
    }
    rows.push({
      target: t.name,
      path: t.path.split('?')[0] as string,
      response,
      ...result,
      ...(t.loop ? { loopMaxMs: loop.max / 1e6 } : {}),
    });
  }
  return rows;
}

function printRows(rows: Row[]) {
  const cell = (v: string, n: number) => v.padStart(n);
  console.log(
    '| server                | route                | response | req/s   | p50 ms | p99 ms | event-loop stall max ms | errors |',
  );
  console.log(
    '| --------------------- | -------------------- | -------- | ------: | -----: | -----: | ----------------------: | -----: |',
  );
  for (const r of rows) {
    const stall = r.loopMaxMs === undefined ? '—' : r.loopMaxMs.toFixed(1);
    const rps = Math.round(r.requestsPerSec).toLocaleString('en-US');
    console.log(
      `| ${r.target.padEnd(21)} | ${r.path.padEnd(20)} | ${r.response.padEnd(8)} | ${cell(rps, 7)} | ${cell(r.p50Ms.toFixed(2), 6)} | ${cell(r.p99Ms.toFixed(2), 6)} | ${cell(stall, 23)} | ${cell(String(r.errors), 6)} |`,
    );
  }
}

/** One browser user's context, as unleash-proxy-client sends it in the query string. */
const frontendPath = '/api/frontend?userId=user-42&appName=shop&properties[tenantId]=acme';

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-serve-'));
  const tokens = {
    admin: `a-${randomBytes(16).toString('hex')}`,
    client: `c-${randomBytes(16).toString('hex')}`,
    frontend: `f-${randomBytes(16).toString('hex')}`,
  };
  const parsed = parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ROLLGATE_FLAGS_DIR: fileURLToPath(new URL('../../../flags', import.meta.url)),
    ROLLGATE_DATA_DIR: dataDir,
    ROLLGATE_ADMIN_TOKENS: `bench=${tokens.admin}`,
    ROLLGATE_CLIENT_TOKENS: `bench=${tokens.client}`,
    ROLLGATE_FRONTEND_TOKENS: `bench=${tokens.frontend}`,
    ROLLGATE_LOG_LEVEL: 'warn',
    ROLLGATE_WATCH: 'false',
    ROLLGATE_SERVICE: 'off',
    ROLLGATE_TICK_INTERVAL: values.tick,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const rollgate = createRollgate(parsed.config);
  const { url } = await rollgate.start();
  const stops: Array<() => unknown> = [
    () => rollgate.stop(),
    () => fs.rmSync(dataDir, { recursive: true, force: true }),
  ];
  try {
    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    const feed = await feedRollouts(url, tokens.client, Date.now, historyHours);
    stops.unshift(() => feed.stop());
    for (const flag of rollgate.controller.listFlags()) {
      const res = await fetch(`${url}/api/admin/flags/${flag.plan.name}/rollout/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'bench:serve' }),
      });
      if (!res.ok) throw new Error(`start ${flag.plan.name}: ${res.status} ${await res.text()}`);
    }
    const t0 = performance.now();
    const report = await rollgate.scheduler.tick();
    const tickMs = performance.now() - t0;
    const doc = rollgate.served.current();

    const features = '/api/client/features';
    const targets: Target[] = [{ name: 'Rollgate', url, path: features, token: tokens.client, loop: true }];
    if (values.frontend)
      targets.push({ ...targets[0], path: frontendPath, token: tokens.frontend } as Target);
    let unleash: UnleashPeer | undefined;
    if (!values['no-unleash']) {
      try {
        unleash = await startUnleash(pg, doc.features);
        stops.unshift(() => unleash?.stop());
        const name = `Unleash ${UNLEASH_VERSION}`;
        targets.push({ name, url: unleash.url, path: features, token: unleash.clientToken });
        if (values.frontend)
          targets.push({ name, url: unleash.url, path: frontendPath, token: unleash.frontendToken });
      } catch (err) {
        console.error(`Unleash ${UNLEASH_VERSION} cannot run here, so no ratio: ${(err as Error).message}`);
      }
    }
    const gen = pickLoadGenerator();
    const rows: Row[] = [];
    const ours = targets.filter((t) => t.loop);
    for (const t of ours) rows.push(...(await measure(t, gen)));
    // Then with the scheduler stopped: what the serving path costs by itself, beside what ticks add. It stays
    // stopped for the peer's rows, so ticks on this process do not take a core from Unleash.
    await rollgate.scheduler.stop();
    for (const t of ours) rows.push(...(await measure({ ...t, name: `${t.name}, no ticks` }, gen)));
    for (const t of targets.filter((x) => !x.loop)) rows.push(...(await measure(t, gen)));

    console.log(
      `GET ${features}: ${doc.features.length} flags (${doc.body.length} bytes)${values.frontend ? `; GET ${frontendPath}` : ''}; ${gen.name}, ${connections} connections, ` +
        `keep-alive, loopback, ${seconds} s per row after ${warmup} s warm-up; load average before: ${load}`,
    );
    console.log(
      `Rollgate's scheduler ticks every ${values.tick} over ${report.flags.length} progressing rollouts with ${historyHours} h of ` +
        `minute signals each (${feed.records.toLocaleString('en-US')} records) and fresh signals every second; one tick: ${tickMs.toFixed(0)} ms`,
    );
    printRows(rows);
    const rate = (name: string, route: string, response: string) =>
      rows.find((r) => r.target === name && r.path === route && r.response === response)?.requestsPerSec;
    if (unleash) {
      for (const route of [features, ...(values.frontend ? ['/api/frontend'] : [])]) {
        for (const response of ['200', '304']) {
          const ours = rate('Rollgate', route, response);
          const theirs = rate(`Unleash ${UNLEASH_VERSION}`, route, response);
          if (ours && theirs) {
            console.log(
              `${route} ${response}: Rollgate / Unleash ${UNLEASH_VERSION} = ${(ours / theirs).toFixed(1)}×`,
            );
          }
        }
      }
    }
  } finally {
    for (const stop of stops) await stop();
  }
}

await main();
