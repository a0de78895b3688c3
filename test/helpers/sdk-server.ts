// A real Rollgate on a loopback port with the SDK fixture plans, for tests that drive real SDK clients.
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { makeFlagsDir, testConfig, testTokens } from './rollgate.ts';

export const sdkPlansDir = path.resolve(import.meta.dirname, '../fixtures/sdk-plans');
export const sdkPlanFiles = fs
  .readdirSync(sdkPlansDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(sdkPlansDir, f));

export const crossCheckFlags = ['xcheck.p1', 'xcheck.p5', 'xcheck.p25', 'xcheck.p50', 'xcheck.p99'];

export async function startSdkServer(
  opts: { heartbeatMs?: number; streamingLimits?: { maxClients: number; maxPendingWrites: number } } = {},
) {
  const config = testConfig({ flagsDir: makeFlagsDir(sdkPlanFiles) });
  const rg = createRollgate(config, { log: silentLogger, ...opts });
  const { url } = await rg.start();
  /** The admin API over the port, as an operator's curl would call it. */
  const admin = async (action: string, body: unknown = {}) => {
    const res = await fetch(`${url}/api/admin/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testTokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${action}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return { rg, url, admin, tokens: testTokens, stop: () => rg.stop() };
}

export type SdkServer = Awaited<ReturnType<typeof startSdkServer>>;

/** Resolves on the first `event` from `emitter` for which `test` holds. */
export function nextEvent<T = unknown>(
  emitter: {
    on(event: string, fn: (arg: T) => void): unknown;
    off(event: string, fn: (arg: T) => void): unknown;
  },
  event: string,
  test: (arg: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const handler = (arg: T) => {
      if (!test(arg)) return;
      emitter.off(event, handler);
      resolve(arg);
    };
    emitter.on(event, handler);
  });
}
