// The composition root: config → db → migrations → plans → controller → http → serve.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createAlertStore } from './alerts/alert-store.ts';
import { type Clock, systemClock } from './clock.ts';
import { type Config, parseConfig, secretFor } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openDb } from './db/open.ts';
import { createFlagHealth } from './health/flag-health.ts';
import { createSignalIngest } from './health/ingest.ts';
import { createPrometheusClient } from './health/prometheus-client.ts';
import { createPrometheusSource } from './health/prometheus-source.ts';
import { createApp } from './http/app.ts';
import { createAuthenticator } from './http/auth.ts';
import { ensureTokens } from './http/generated-tokens.ts';
import { countedIngest, createMetrics } from './http/metrics.ts';
import { createStreamingHub } from './http/streaming.ts';
import { createLogger, type Logger } from './log.ts';
import { loadPlanDir } from './plans/load.ts';
import { formatProblem } from './plans/validate.ts';
import { watchPlanDir } from './plans/watch.ts';
import { createController } from './rollout/controller.ts';
import { notifyTransitions } from './rollout/notifier.ts';
import { createScheduler } from './rollout/scheduler.ts';
import { createServedFeatures } from './rollout/served.ts';
import { createService, type ServiceOptions } from './service/service.ts';
import { runStandaloneService, type StandaloneOptions } from './service/standalone.ts';

export const migrationsDir = fileURLToPath(new URL('./db/migrations', import.meta.url));

export class StartupError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export interface RollgateOptions {
  clock?: Clock;
  log?: Logger;
  /** How often open SDK streams get a heartbeat; tests shorten it. */
  heartbeatMs?: number;
  /** Client and backlog caps for SDK streams; tests lower them. */
  streamingLimits?: { maxClients: number; maxPendingWrites: number };
  /** Knobs of the guarded service when it runs in this process (ROLLGATE_SERVICE=on). */
  service?: Omit<ServiceOptions, 'dataDir'>;
}

/** Builds the whole graph on one database file; `start` binds the port and starts the background loops. */
export function createRollgate(config: Config, opts: RollgateOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel, { service: 'rollgate' });
  const initial = loadPlanDir(config.flagsDir);
  if (!initial.ok) throw new StartupError('plans rejected', initial.problems.map(formatProblem));

  const db = openDb(config.dbFile);
  const { applied } = migrate(db, migrationsDir);
  if (applied.length) log.info('migrations applied', { applied });
  const generated = ensureTokens(config.dataDir, config.tokens);
  const tokens = [...config.tokens, ...generated.tokens];
  const auth = createAuthenticator(tokens);
  const controller = createController({ db, clock, log });
  controller.applyPlans(initial.plans, 'plans-loader');

  let ready = true;
  const metrics = createMetrics(controller);
  const served = createServedFeatures({ controller });
  const streaming = createStreamingHub({
    served,
    log,
    heartbeatMs: opts.heartbeatMs,
    limits: opts.streamingLimits,
  });
  // Impact metrics without a flag context cannot be stored per arm; /metrics counts them instead.
  const signals = createSignalIngest({ db, clock, log, onUnattributedImpact: metrics.unattributedImpact });
  const flagHealth = createFlagHealth({
    store: signals.store,
    staleAfterMs: config.signals.staleAfterMs,
    historyMs: config.signals.historyMs,
  });
  const app = createApp({
    controller,
    auth,
    log,
    metrics,
    flagsDir: config.flagsDir,
    isReady: () => ready,
    served,
    streaming,
    signals,
    flagHealth,
    alertStore: createAlertStore(db),
    random: Math.random,
  });
  // The guarded service shares the server under /service and reads its flags back through the client API.
  const service =
    config.service.mode === 'on'
      ? createService({
          dataDir: config.dataDir,
          clock,
          log: log.child({ part: 'service' }),
          ...opts.service,
        })
      : undefined;
  if (service) app.route('/service', service.app);

  const { url: prometheusUrl, ...prometheusOptions } = config.prometheus;
  const prometheus = createPrometheusSource({
    db,
    client: prometheusUrl ? createPrometheusClient({ url: prometheusUrl, ...prometheusOptions }) : undefined,
    signals: countedIngest(signals, metrics, 'prometheus'),
    flags: () =>
      controller
        .listFlags()
        .filter((f) => f.state.enabled && (f.state.phase === 'progressing' || f.state.phase === 'completed')),
    clock,
    log: log.child({ part: 'prometheus' }),
    ...prometheusOptions,
    historyMs: config.signals.historyMs,
  });

  const scheduler = createScheduler({
    controller,
    // A Prometheus read that failed or came back empty holds the flag with Prometheus's own error.
    assess: (flag, now) => {
      const assessed = flagHealth.assess(flag, now);
      const sourceProblem = prometheus.problemFor(flag.plan.name);
      const verdict = sourceProblem ? { ...assessed, sourceProblem } : assessed;
      metrics.verdict(flag.plan.name, verdict);
      return verdict;
    },
    onTick: metrics.tickTook,
    clock,
    log,
    intervalMs: config.tickIntervalMs,
  });

  const stops: Array<() => void | Promise<void>> = [];
  const notifier = notifyTransitions(controller, { ...config.notify, log });
  stops.push(() => notifier.stop());
  metrics.attach({ sseClients: streaming.clients, outbox: notifier.stats });
  return {
    app,
    db,
    controller,
    served,
    streaming,
    service,
    scheduler,
    flagHealth,
    prometheus,
    generatedTokens: generated,
    async start(): Promise<{ port: number; url: string }> {
      // Retention: minute buckets roll up into hours, then age out; cheap enough to run every ten minutes.
      const retention = setInterval(() => signals.store.prune(clock(), config.signals), 600_000);
      retention.unref();
      stops.push(() => clearInterval(retention));
      if (config.watch)
        stops.push(
          watchPlanDir(
            config.flagsDir,
            () => controller.reload(config.flagsDir, 'plans-watcher'),
            (err) => log.error('plan watcher failed; reload with POST /api/admin/plans/reload', { err }),
          ),
        );
      const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(s));
        // A taken port or an address this machine does not have: say which setting, not a stack trace.
        s.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            new StartupError(`cannot listen on ${config.host}:${config.port}`, [
              `HOST/PORT: ${err.code ?? err.message}`,
            ]),
          ),
        );
      });
      stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      // Open SDK streams would hold the server open: end them first (stops run in reverse).
      stops.push(() => streaming.close());
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      if (service) {
        const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
        await service.start({
          unleashUrl:
            config.service.unleashUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}/api/`,
          clientToken: secretFor(tokens, 'client') ?? '',
          signalsToken: secretFor(tokens, 'ingest'),
        });
        stops.push(() => service.stop());
      }
      prometheus.start();
      stops.push(() => prometheus.stop());
      // Reconcile last: everything it acts through is up. Stops run in reverse, so it stops first.
      scheduler.start();
      stops.push(() => scheduler.stop());
      return { port, url: `http://${config.host}:${port}` };
    },
    async stop() {
      ready = false;
      for (const stop of stops.reverse()) await stop();
      await service?.stop(); // a no-op when start already stopped it
      db.close();
    },
  };
}

/** A start-up problem the operator can fix ends the process with its message; anything else is a bug. */
function fail(err: unknown): never {
  if (!(err instanceof StartupError)) throw err;
  console.error(`rollgate: ${err.message}\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}

/** Running alone, the service gets only what it needs, and only configured tokens: nothing is generated. */
export function standaloneOptions(config: Config): StandaloneOptions {
  return {
    host: config.host,
    port: config.port,
    dataDir: config.dataDir,
    unleashUrl: config.service.unleashUrl,
    clientToken: secretFor(config.tokens, 'client'),
    ingestToken: secretFor(config.tokens, 'ingest'),
  };
}

export async function main() {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) fail(new StartupError('invalid configuration', parsed.problems));
  const { config } = parsed;
  const log = createLogger(config.logLevel, { service: 'rollgate' });
  if (config.service.mode === 'only') return runStandaloneService(standaloneOptions(config), log);
  let rollgate: ReturnType<typeof createRollgate>;
  let url: string;
  try {
    rollgate = createRollgate(config, { log });
    ({ url } = await rollgate.start());
  } catch (err) {
    fail(err);
  }
  const { created, file, tokens } = rollgate.generatedTokens;
  if (tokens.length) {
    log.info(created.length ? 'generated tokens' : 'using generated tokens', {
      kinds: tokens.map((t) => t.kind),
      file: path.relative(process.cwd(), file) || file,
      hint: 'read them from this owner-only file; set ROLLGATE_<KIND>_TOKENS to use your own',
    });
  }
  log.info('rollgate listening', { url, flags: rollgate.controller.listFlags().length });
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await rollgate.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
