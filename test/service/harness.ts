// A real Rollgate on a port with the service mounted in-process, its SDK polling fast, and admin helpers.
import path from 'node:path';
import { UnleashEvents } from 'unleash-client';
import { afterEach } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate, type RollgateOptions } from '../../src/main.ts';
import { bundledFlagsDir, makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';

export const planFiles = [
  'schema.ai-model.yaml',
  'queue.async-tasks.yaml',
  'pricing.dynamic-offers.yaml',
].map((f) => path.join(bundledFlagsDir, f));

export async function startWithService(service: RollgateOptions['service'] = {}) {
  const config = testConfig({ flagsDir: makeFlagsDir(planFiles), env: { ROLLGATE_SERVICE: 'on' } });
  const rg = createRollgate(config, {
    clock: systemClock,
    log: silentLogger,
    service: {
      flags: { refreshMs: 50, metricsMs: 60_000 },
      work: { workMs: 2, failureRate: 0 },
      workers: { pollMs: 5 },
      signals: { flushMs: 3_600_000 },
      ...service,
    },
  });
  const { url } = await rg.start();
  const svc = rg.service;
  if (!svc) throw new Error('the service is not mounted');

  const call = async (method: string, route: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${route}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
    const json = (await res.json()) as any;
    return { status: res.status, headers: res.headers, body: json };
  };

  /** Resolves after two completed SDK fetches: the second one started after whatever changed before the call. */
  const synced = () =>
    new Promise<void>((resolve) => {
      const sdk = svc.flags.sdk();
      if (!sdk) throw new Error('flag client not connected');
      let fetches = 0;
      const seen = () => {
        if (++fetches < 2) return;
        sdk.off(UnleashEvents.Changed, seen);
        sdk.off(UnleashEvents.Unchanged, seen);
        resolve();
      };
      sdk.on(UnleashEvents.Changed, seen);
      sdk.on(UnleashEvents.Unchanged, seen);
    });

  /** Runs an admin action on a flag and waits until the service's SDK has seen its effect. */
  const admin = async (flag: string, action: string, body?: unknown) => {
    const res = await call('POST', `/api/admin/flags/${flag}/${action}`, body ?? {}, testTokens.admin);
    if (res.status !== 200) throw new Error(`${action} ${flag}: ${res.status} ${JSON.stringify(res.body)}`);
    await synced();
    return res.body;
  };
  const toFull = async (flag: string) => {
    await admin(flag, 'rollout/start');
    await admin(flag, 'rollout/promote', { to: 'full' });
  };

  return { rg, url, service: svc, call, admin, toFull, synced, stop: () => rg.stop() };
}

export type Harness = Awaited<ReturnType<typeof startWithService>>;

/** Polls a task until it leaves the queue. */
export async function settled(h: Harness, id: string) {
  for (;;) {
    const res = await h.call('GET', `/service/tasks/${id}`);
    if (!['queued', 'running'].includes(res.body.task?.status)) return res;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts harnesses for one test file and stops each after its test. */
export function useHarnesses() {
  const open: Harness[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.stop();
  });
  return async (service: Parameters<typeof startWithService>[0] = {}) => {
    const h = await startWithService(service);
    open.push(h);
    return h;
  };
}

/** Flushes the service's signals and returns a summer over the flag's stored series: total of a field per arm. */
export async function signalTotals(h: Harness, flag: string) {
  await h.service.reporter.flush(true);
  const health = await h.call('GET', `/api/admin/flags/${flag}/health`, undefined, testTokens.admin);
  return (arm: string, field: string): number =>
    health.body.series.intervals.reduce(
      (total: number, i: { arms: Record<string, Record<string, number>> }) =>
        total + (i.arms[arm]?.[field] ?? 0),
      0,
    );
}
