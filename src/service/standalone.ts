// Runs the service alone (ROLLGATE_SERVICE=only), reading flags from a Rollgate elsewhere.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { notFound } from '../edge.ts';
import type { Logger } from '../log.ts';
import { createService, type ServiceOptions } from './service.ts';

export type StandaloneResult =
  | { ok: true; start(): Promise<{ url: string }>; stop(): Promise<void> }
  | { ok: false; problems: string[] };

/** The slice of Rollgate's configuration running alone needs; main.ts builds it from the environment. */
export interface StandaloneOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Where Rollgate's Unleash API is; required. */
  unleashUrl: string | undefined;
  /** Rollgate's client token; required. */
  clientToken: string | undefined;
  /** Signals go with this token when set, else with the client token. */
  ingestToken: string | undefined;
  /** ROLLGATE_SERVICE_QUEUE_URL: the task queue on Redis; service.db otherwise. */
  queueUrl?: string | undefined;
}

/** Checks what running alone needs (the Unleash URL and a client token), then builds the service and its server. */
export function createStandaloneService(
  options: StandaloneOptions,
  log: Logger,
  opts: Omit<ServiceOptions, 'dataDir' | 'log'> = {},
): StandaloneResult {
  const { host, port, unleashUrl, clientToken, ingestToken } = options;
  const problems: string[] = [];
  if (!unleashUrl) problems.push('ROLLGATE_SERVICE_UNLEASH_URL: required when ROLLGATE_SERVICE=only');
  if (!clientToken)
    problems.push("ROLLGATE_CLIENT_TOKENS: required when ROLLGATE_SERVICE=only (Rollgate's client token)");
  if (!unleashUrl || !clientToken) return { ok: false, problems };

  const service = createService({ dataDir: options.dataDir, log, queueUrl: options.queueUrl, ...opts });
  const app = new Hono();
  app.route('/service', service.app);
  app.get('/health/live', (c) => c.json({ status: 'ok' }));
  app.notFound(notFound);
  let server: ReturnType<typeof serve> | undefined;
  return {
    ok: true,
    async start() {
      await service.start({ unleashUrl, clientToken, ...(ingestToken ? { signalsToken: ingestToken } : {}) });
      const s = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const started = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(started));
      });
      server = s;
      const address = s.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      return { url: `http://${host}:${bound}` };
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      await service.stop();
    },
  };
}

/** The process entry for ROLLGATE_SERVICE=only: exits 1 on a configuration problem, stops cleanly on a signal. */
export async function runStandaloneService(options: StandaloneOptions, log: Logger): Promise<void> {
  const standalone = createStandaloneService(options, log);
  if (!standalone.ok) {
    console.error(`rollgate: invalid configuration\n${standalone.problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  const { url } = await standalone.start();
  log.info('service listening alone', { url, flags: options.unleashUrl });
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await standalone.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
