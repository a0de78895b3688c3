// Builds a real Rollgate (real SQLite file, real plans folder) in a temp directory, as main.ts does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualClock } from '../../src/clock.ts';
import { type Config, parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate, type RollgateOptions } from '../../src/main.ts';

export const testTokens = {
  admin: 'admin-secret-0123456789',
  client: 'client-secret-0123456789',
  frontend: 'frontend-secret-0123456789',
  alert: 'alert-secret-0123456789',
  ingest: 'ingest-secret-0123456789',
};

export const bundledFlagsDir = path.resolve(import.meta.dirname, '../../flags');
export const fixturePlansDir = path.resolve(import.meta.dirname, '../fixtures/plans');

export function tempDir(prefix = 'rollgate-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A fresh flags folder holding copies of the given plan files (paths) or inline plans (name → YAML). */
export function makeFlagsDir(files: string[] = [], inline: Record<string, string> = {}): string {
  const dir = tempDir('rollgate-flags-');
  for (const f of files) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  for (const [name, text] of Object.entries(inline)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

export function testConfig(overrides: {
  flagsDir: string;
  dataDir?: string;
  env?: Record<string, string>;
}): Config {
  const parsed = parseConfig({
    PORT: '0',
    ROLLGATE_FLAGS_DIR: overrides.flagsDir,
    ROLLGATE_DATA_DIR: overrides.dataDir ?? tempDir('rollgate-data-'),
    ROLLGATE_ADMIN_TOKENS: `ops=${testTokens.admin}`,
    ROLLGATE_CLIENT_TOKENS: `service=${testTokens.client}`,
    ROLLGATE_FRONTEND_TOKENS: `web=${testTokens.frontend}`,
    ROLLGATE_ALERT_TOKENS: `alertmanager=${testTokens.alert}`,
    ROLLGATE_INGEST_TOKENS: `pipeline=${testTokens.ingest}`,
    ROLLGATE_WATCH: 'false',
    ROLLGATE_LOG_LEVEL: 'silent',
    ROLLGATE_SERVICE: 'off',
    ...overrides.env,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config;
}

/** Test responses: bodies are asserted field by field, so `json()` is untyped here. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> };

export function buildRollgate(opts: {
  flagsDir: string;
  dataDir?: string;
  clock?: ReturnType<typeof manualClock>;
  env?: Record<string, string>;
  options?: Omit<RollgateOptions, 'clock' | 'log'>;
}) {
  const config = testConfig(opts);
  const clock = opts.clock ?? manualClock();
  const rg = createRollgate(config, { ...opts.options, clock, log: silentLogger });
  const call = (
    method: string,
    url: string,
    opts: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? testTokens.admin : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return Promise.resolve(rg.app.request(url, { method, headers, body }));
  };
  return { rg, config, clock, call };
}

/** Admin API calls against a running server over real HTTP, with the test admin token (or another). */
export function adminClient(url: string, token: string = testTokens.admin) {
  return async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${url}/api/admin/${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: bodies are asserted field by field
    return { status: res.status, body: (await res.json()) as any };
  };
}
