import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate, standaloneOptions } from '../../src/main.ts';
import { createStandaloneService } from '../../src/service/standalone.ts';
import { makeFlagsDir, tempDir, testConfig, testTokens } from '../helpers/rollgate.ts';
import { planFiles } from './harness.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('service run alone (ROLLGATE_SERVICE=only)', () => {
  it('refuses to start without the Unleash URL it should read flags from', () => {
    const config = testConfig({ flagsDir: makeFlagsDir(), env: { ROLLGATE_SERVICE: 'only' } });
    const result = createStandaloneService(standaloneOptions(config), silentLogger);
    expect(result).toEqual({
      ok: false,
      problems: ['ROLLGATE_SERVICE_UNLEASH_URL: required when ROLLGATE_SERVICE=only'],
    });
  });

  it('refuses to start without a client token to read flags with', () => {
    const result = createStandaloneService(
      {
        host: '127.0.0.1',
        port: 0,
        dataDir: tempDir(),
        unleashUrl: 'http://127.0.0.1:4242/api/',
        clientToken: undefined,
        ingestToken: undefined,
      },
      silentLogger,
    );
    expect(result).toEqual({
      ok: false,
      problems: ["ROLLGATE_CLIENT_TOKENS: required when ROLLGATE_SERVICE=only (Rollgate's client token)"],
    });
  });

  it('serves /service on its own port, reading flags from a Rollgate elsewhere and reporting to it', async () => {
    const rollgate = createRollgate(testConfig({ flagsDir: makeFlagsDir(planFiles) }), {
      clock: systemClock,
      log: silentLogger,
    });
    const { url: rollgateUrl } = await rollgate.start();
    stops.push(() => rollgate.stop());
    const config = testConfig({
      flagsDir: makeFlagsDir(),
      env: { ROLLGATE_SERVICE: 'only', ROLLGATE_SERVICE_UNLEASH_URL: `${rollgateUrl}/api` },
    });
    const standalone = createStandaloneService(standaloneOptions(config), silentLogger, {
      flags: { refreshMs: 50 },
      work: { workMs: 1 },
      signals: { flushMs: 3_600_000 },
    });
    if (!standalone.ok) throw new Error(standalone.problems.join('; '));
    const { url } = await standalone.start();
    stops.push(() => standalone.stop());

    const health = await (await fetch(`${url}/service/health`)).json();
    expect(health).toMatchObject({ status: 'ok', flags: { synchronized: true } });
    const created = await fetch(`${url}/service/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId: 'acme', userId: 'u1', type: 'self-improvement' }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);

    // Stopping flushes the buffered signals to the other Rollgate with the ingest token.
    await standalone.stop();
    const res = await fetch(`${rollgateUrl}/api/admin/flags/queue.async-tasks/health`, {
      headers: { authorization: `Bearer ${testTokens.admin}` },
    });
    const body = (await res.json()) as {
      series: { intervals: Array<{ arms: Record<string, { requests?: number }> }> };
    };
    const requests = body.series.intervals.reduce((n, i) => n + (i.arms.control?.requests ?? 0), 0);
    expect(requests).toBe(1);
  });
});
