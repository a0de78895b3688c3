// Runs the service alone (ROLLGATE_SERVICE=only), reading flags from a Rollgate elsewhere.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { errorBody } from './request.ts';
import { createService, type ServiceOptions } from './service.ts';

export type StandaloneResult =
  | { ok: true; start(): Promise<{ url: string }>; stop(): Promise<void> }
  | { ok: false; problems: string[] };

/** Checks what running alone needs (the Unleash URL and a client token), then builds the service and its server. */
export function createStandaloneService(
  config: Config,
  log: Logger,
  opts: Omit<ServiceOptions, 'dataDir' | 'log'> = {},
): StandaloneResult {
  const unleashUrl = config.service.unleashUrl;
  const clientToken = config.tokens.find((t) => t.kind === 'client')?.secret;
  const problems: string[] = [];
  if (!unleashUrl) problems.push('ROLLGATE_SERVICE_UNLEASH_URL: required when ROLLGATE_SERVICE=only');
  if (!clientToken)
    problems.push("ROLLGATE_CLIENT_TOKENS: required when ROLLGATE_SERVICE=only (Rollgate's client token)");
  if (!unleashUrl || !clientToken) return { ok: false, problems };

  const service = createService({ dataDir: config.dataDir, log, ...opts });
  const app = new Hono();
  app.route('/service', service.app);
  app.get('/health/live', (c) => c.json({ status: 'ok' }));
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404));
  let server: ReturnType<typeof serve> | undefined;
  return {
    ok: true,
    async start() {
      const ingest = config.tokens.find((t) => t.kind === 'ingest')?.secret;
      await service.start({ unleashUrl, clientToken, ...(ingest ? { signalsToken: ingest } : {}) });
      const s = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const started = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () =>
          resolve(started),
        );
      });
      server = s;
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return { url: `http://${config.host}:${port}` };
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
export async function runStandaloneService(config: Config, log: Logger): Promise<void> {
  const standalone = createStandaloneService(config, log);
  if (!standalone.ok) {
    console.error(`rollgate: invalid configuration\n${standalone.problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  const { url } = await standalone.start();
  log.info('service listening alone', { url, flags: config.service.unleashUrl });
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await standalone.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
