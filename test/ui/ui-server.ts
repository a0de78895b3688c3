// A real Rollgate with the bundled plans on a loopback port and a manual clock, for dashboard tests that post signals minute by minute.
import { manualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { bundledFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';

export const uiT0 = Date.parse('2026-11-02T10:00:00Z');

export async function startUiServer(env: Record<string, string> = {}) {
  const clock = manualClock(uiT0);
  const config = testConfig({ flagsDir: bundledFlagsDir, env });
  const rg = createRollgate(config, { clock, log: silentLogger });
  const { url } = await rg.start();
  const api = async (method: string, route: string, body?: unknown, token = testTokens.admin) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  /** One minute of healthy traffic for a 1 % stage: errors and latency alike in both arms. */
  const postMinute = (flag: string, at: number) =>
    api(
      'POST',
      '/api/signals',
      {
        records: [
          { flag, arm: 'treatment', at, requests: 20, errors: 0, latencyMs: histogram(20) },
          { flag, arm: 'control', at, requests: 1980, errors: 6, latencyMs: histogram(1980) },
        ],
      },
      testTokens.ingest,
    );
  return { rg, url, clock, api, postMinute, config, stop: () => rg.stop() };
}

function histogram(n: number) {
  const fast = Math.round(n * 0.8);
  const mid = Math.round(n * 0.95);
  return {
    count: n,
    sum: n * 40,
    buckets: [
      { le: 25, count: fast },
      { le: 100, count: mid },
      { le: 250, count: n },
      { le: '+Inf', count: n },
    ],
  };
}
