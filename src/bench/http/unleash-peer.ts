// Unleash 7.5.1 as the serving benchmark's peer: installed into a cache folder, on a throwaway PostgreSQL database.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { UnleashFeature } from '../../evaluation/types.ts';

export const UNLEASH_VERSION = '7.5.1';
const ENVIRONMENT = 'development';

export interface UnleashPeer {
  url: string;
  clientToken: string;
  frontendToken: string;
  stop(): Promise<void>;
}

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
}

/**
 * Outside the project's dependencies on purpose: unleash-server pulls in about 400 packages, which every
 * `npm ci` would pay for a benchmark peer. The first run installs it (about 30 s), later runs reuse it.
 */
function ensureInstalled(): string {
  const dir = path.join(os.tmpdir(), `rollgate-bench-unleash-${UNLEASH_VERSION}`);
  const entry = path.join(dir, 'node_modules/unleash-server/dist/lib/server-impl.js');
  if (fs.existsSync(entry)) return dir;
  console.error(`installing unleash-server@${UNLEASH_VERSION} into ${dir} (once) …`);
  fs.mkdirSync(dir, { recursive: true });
  const args = ['install', '--prefix', dir, '--no-audit', '--no-fund', '--omit=dev', '--ignore-scripts'];
  const r = spawnSync('npm', [...args, `unleash-server@${UNLEASH_VERSION}`], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || !fs.existsSync(entry))
    throw new Error(`npm install unleash-server@${UNLEASH_VERSION} failed`);
  return dir;
}

/** The pg driver Unleash itself installed, so the benchmark needs neither psql nor a dependency of its own. */
async function adminQuery(dir: string, pg: PostgresTarget, sql: string) {
  const mod = await import(pathToFileURL(path.join(dir, 'node_modules/pg/lib/index.js')).href);
  const Client = (mod.default ?? mod).Client;
  const client = new Client({ ...pg, database: 'postgres' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/** A child node process running unleash-server's own start(), which says "ready" once it listens. */
function startServer(dir: string, env: Record<string, string>): Promise<ChildProcess> {
  const entry = pathToFileURL(path.join(dir, 'node_modules/unleash-server/dist/lib/server-impl.js')).href;
  const script = `
    const { start } = await import(${JSON.stringify(entry)});
    const e = process.env;
    await start({
      db: { host: e.U_PG_HOST, port: Number(e.U_PG_PORT), user: e.U_PG_USER, password: '', database: e.U_DB, ssl: false },
      server: { host: '127.0.0.1', port: Number(e.U_PORT) },
      logLevel: 'error',
      authentication: { initApiTokens: [
        { type: 'admin', environment: '*', projects: ['*'], secret: e.U_ADMIN, tokenName: 'bench-admin' },
        { type: 'client', environment: '${ENVIRONMENT}', projects: ['*'], secret: e.U_CLIENT, tokenName: 'bench-client' },
        { type: 'frontend', environment: '${ENVIRONMENT}', projects: ['*'], secret: e.U_FRONTEND, tokenName: 'bench-frontend' },
      ] },
    });
    console.log('ready');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dir,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Unleash did not start in 120 s:\n${stderr}`)), 120_000);
    child.stdout?.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Unleash exited with ${code}:\n${stderr}`));
    });
  });
}

/** The same features through Unleash's admin API: strategy, constraints, variants and on/off as Rollgate serves them. */
async function createFeatures(url: string, adminToken: string, features: readonly UnleashFeature[]) {
  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${url}/api/admin/projects/default${route}`, {
      method,
      headers: { authorization: adminToken, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`Unleash ${method} ${route}: ${res.status} ${await res.text()}`);
  };
  for (const f of features) {
    await call('POST', '/features', { name: f.name, type: f.type, description: f.description ?? '' });
    const env = `/features/${f.name}/environments/${ENVIRONMENT}`;
    // Unleash 7 refuses feature-level (environment) variants; its SDKs read strategy variants first, so the
    // feature's variants go on its rollout strategy, where they give the same assignment.
    const variants = (f.variants ?? []).map(({ name, weight, weightType, stickiness, payload }) => ({
      name,
      weight,
      weightType,
      stickiness,
      ...(payload ? { payload } : {}),
    }));
    for (const s of f.strategies) {
      const { name, constraints, parameters } = s;
      const own = s.variants?.length ? s.variants : variants;
      await call('POST', `${env}/strategies`, { name, constraints, parameters, variants: own });
    }
    if (f.enabled) await call('POST', `${env}/on`);
  }
}

/** Unleash caches the client document; measure only once it serves every feature just created. */
async function untilServed(url: string, token: string, count: number) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/api/client/features`, { headers: { authorization: token } });
    const body = (await res.json()) as { features?: unknown[] };
    if (res.ok && body.features?.length === count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Unleash did not serve the ${count} features within 10 s`);
}

export async function startUnleash(
  pg: PostgresTarget,
  features: readonly UnleashFeature[],
): Promise<UnleashPeer> {
  const dir = ensureInstalled();
  const db = `rollgate_bench_unleash_${process.pid}`;
  await adminQuery(dir, pg, `CREATE DATABASE ${db}`);
  const admin = `*:*.${randomBytes(16).toString('hex')}`;
  const clientToken = `*:${ENVIRONMENT}.${randomBytes(16).toString('hex')}`;
  const frontendToken = `*:${ENVIRONMENT}.${randomBytes(16).toString('hex')}`;
  const port = await freePort();
  const drop = () => adminQuery(dir, pg, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  let child: ChildProcess | undefined;
  try {
    child = await startServer(dir, {
      U_PG_HOST: pg.host,
      U_PG_PORT: String(pg.port),
      U_PG_USER: pg.user,
      U_DB: db,
      U_PORT: String(port),
      U_ADMIN: admin,
      U_CLIENT: clientToken,
      U_FRONTEND: frontendToken,
    });
    const url = `http://127.0.0.1:${port}`;
    await createFeatures(url, admin, features);
    await untilServed(url, clientToken, features.length);
    const running = child;
    return {
      url,
      clientToken,
      frontendToken,
      async stop() {
        if (running.exitCode === null && running.signalCode === null) {
          const exited = new Promise((r) => running.once('exit', r));
          running.kill('SIGTERM');
          await exited;
        }
        await drop();
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    await drop();
    throw err;
  }
}
