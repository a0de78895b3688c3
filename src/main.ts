// The composition root: config → db → migrations → plans → controller → http → serve.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { createAlertStore } from './alerts/alert-store.ts';
import { type CheckProvider, createAuditor } from './audit/audit.ts';
import { createAuditStore } from './audit/audit-store.ts';
import type { PowerOptions } from './audit/power.ts';
import { createAuditSchedule } from './audit/schedule.ts';
import { sdkReachChecks } from './audit/sdk-reach.ts';
import { type Clock, systemClock } from './clock.ts';
import { type Config, parseConfig, secretFor } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openDb } from './db/open.ts';
import { openPostgres, redactUrl } from './db/postgres.ts';
import type { SqlDb } from './db/sql.ts';
import { createStorageHealth } from './db/storage-health.ts';
import { createAssessThread } from './health/assess-thread.ts';
import { createFlagHealth } from './health/flag-health.ts';
import { createFoldStore } from './health/fold-store.ts';
import { createSignalIngest } from './health/ingest.ts';
import { createPrometheusClient } from './health/prometheus-client.ts';
import { createPrometheusSource } from './health/prometheus-source.ts';
import type { Verdict } from './health/verdict.ts';
import { createApp } from './http/app.ts';
import { createAuthenticator } from './http/auth.ts';
import { createFastPath } from './http/fast-path.ts';
import { createFrontendAnswers } from './http/frontend-cache.ts';
import { ensureTokens } from './http/generated-tokens.ts';
import { countedIngest, createMetrics } from './http/metrics.ts';
import { createStreamingHub } from './http/streaming.ts';
import { createLogger, type Logger } from './log.ts';
import { planChecksum } from './plans/checksum.ts';
import { loadPlanDir } from './plans/load.ts';
import { formatProblem } from './plans/validate.ts';
import { type PlanWatcher, watchPlanDir } from './plans/watch.ts';
import { createArmIndex } from './rollout/arm-index.ts';
import { createController } from './rollout/controller.ts';
import { createOutboxSender, notifyTargets } from './rollout/notifier.ts';
import { createOutboxStore } from './rollout/outbox-store.ts';
import { createReplicas, defaultReplicaId } from './rollout/replicas.ts';
import { createScheduler } from './rollout/scheduler.ts';
import { createServedFeatures } from './rollout/served.ts';
import { createDrills } from './sdk/drill.ts';
import { createSdkInstanceStore, createSdkRegistry } from './sdk/instances.ts';
import { createService, type ServiceOptions } from './service/service.ts';
import { runStandaloneService, type StandaloneOptions } from './service/standalone.ts';
import { createSessions, loadSessionKey } from './ui/session.ts';
import { createSignIn } from './ui/sign-in.ts';
import { createUiRoutes } from './ui/ui-routes.tsx';

export const migrationsDir = fileURLToPath(new URL('./db/migrations', import.meta.url));
/** The same migrations, numbered alike, in PostgreSQL's DDL. */
export const migrationsPgDir = fileURLToPath(new URL('./db/migrations-pg', import.meta.url));

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
  /** Delivery knobs of the notification sender (backoff, attempts); tests shorten them. */
  notifier?: { baseDelayMs?: number; maxAttempts?: number; pollMs?: number };
  /** How often the plan watcher checks the folder when fs.watch is silent; tests shorten it. */
  watchPollMs?: number;
  /** How long after the last storage fault readiness stays 503; tests shorten it. */
  storageRecoverMs?: number;
  /** Audit knobs: fewer power seeds, or a scheduled run more often than ROLLGATE_AUDIT_INTERVAL allows (tests). */
  audit?: { power?: PowerOptions; intervalMs?: number };
  /** Knobs of the guarded service when it runs in this process (ROLLGATE_SERVICE=on). */
  service?: Omit<ServiceOptions, 'dataDir'>;
}

/** Builds the whole graph on one database file; `start` binds the port and starts the background loops. */
export function createRollgate(config: Config, opts: RollgateOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel, { service: 'rollgate' });
  const initial = loadPlanDir(config.flagsDir);
  if (!initial.ok) throw new StartupError('plans rejected', initial.problems.map(formatProblem));

  const { db, applied } = openStorage(config);
  if (applied.length) log.info('migrations applied', { applied });
  if (config.databaseUrl) log.info('state in PostgreSQL', { database: redactUrl(config.databaseUrl) });
  const generated = startupStep('ROLLGATE_DATA_DIR', () => ensureTokens(config.dataDir, config.tokens));
  const tokens = [...config.tokens, ...generated.tokens];
  const auth = createAuthenticator(tokens);
  const outbox = createOutboxStore(db);
  const targets = notifyTargets(config.notify.urls);
  const replicaId = config.replicaId ?? defaultReplicaId();
  const controller = createController({
    db,
    replicaId,
    clock,
    log,
    allowMassRemoval: config.allowMassRemoval,
    outbox: { store: outbox, targets: targets.map((t) => t.id), now: Date.now },
  });
  const mass = controller.massRemoval(initial.plans, config.flagsDir);
  if (mass) {
    db.close();
    throw new StartupError('plans rejected', [`ROLLGATE_FLAGS_DIR: ${formatProblem(mass.problem)}`]);
  }
  controller.applyPlans(initial.plans, 'plans-loader');

  let ready = true;
  let folderDiffers = false;
  /** Whether this replica's plan folder is the one in force; logged once each time that turns false. */
  const folderCheck = () => {
    const f = controller.planFolder();
    if (!f.same && !folderDiffers)
      log.warn('this replica loaded a different plan folder from the one in force', {
        mine: f.mine,
        applied: f.applied,
      });
    folderDiffers = !f.same;
    return f.same
      ? { same: true, error: null }
      : {
          same: false,
          error: `the plans in force were applied from another folder by ${f.applied?.by} at ${new Date(f.applied?.at ?? 0).toISOString()}; deploy the same flags folder to every replica`,
        };
  };
  let watcher: PlanWatcher | undefined;
  // Wall time: the recovery window is about the machine's disk, not the (possibly virtual) rollout clock.
  const storage = createStorageHealth({
    db,
    now: Date.now,
    ...(opts.storageRecoverMs ? { recoverMs: opts.storageRecoverMs } : {}),
  });
  /** Ready only while started, writes succeed and (when watching) the plan watcher is alive: each check says why. */
  const readiness = () => {
    const database = storage.status();
    // Watching but not started yet: not ready until the watcher runs.
    const plans = watcher ? watcher.status() : { alive: !config.watch, mode: 'off' as const };
    const ok = ready && database.ok && (!config.watch || plans.alive);
    const checks = { started: ready, database, watcher: plans };
    // Replicas with different plan folders: reported, not fatal (the other replicas serve what is in force).
    return { ok, checks: config.databaseUrl ? { ...checks, planFolder: folderCheck() } : checks };
  };
  const metrics = createMetrics(controller);
  const arms = createArmIndex(controller);
  const alertStore = createAlertStore(db);
  const auditStore = createAuditStore(db);
  const signals = createSignalIngest({
    db,
    clock,
    log,
    arms,
    idempotencyWindowMs: config.signals.idempotencyWindowMs,
    // Impact metrics without a flag context cannot be stored per arm; /metrics counts them instead.
    onUnattributedImpact: metrics.unattributedImpact,
    // SDK metrics of flags no plan defines are not stored as signals; the audit keeps their names and counts.
    onUnplannedFlags: (evaluations) => auditStore.noteUnplanned(evaluations, clock()),
  });
  // SDK instances as the client API sees them: in memory on the poll path, flushed to sdk_instances.
  const sdks = createSdkRegistry({
    now: clock,
    limits: config.sdk,
    log: log.child({ part: 'sdk-instances' }),
  });
  const sdkStore = createSdkInstanceStore(db);
  sdks.load(sdkStore.load(sdks.limits.maxInstances));
  const drills = createDrills({ controller, sdks, signalStore: signals.store, log, now: clock });
  const served = createServedFeatures({ controller, extra: drills.features });
  drills.attach(served);
  // On PostgreSQL one replica leads (runs the scheduler, the Prometheus reads and the notifications) and every
  // replica rebuilds its served document when any of them announces a change; alone on SQLite this one leads.
  const replicas = createReplicas({
    url: config.databaseUrl,
    id: replicaId,
    intervalMs: config.tickIntervalMs,
    log,
    onChange: () => served.refresh(),
    planFolder: controller.planFolder,
  });
  const streaming = createStreamingHub({
    served,
    log,
    heartbeatMs: opts.heartbeatMs,
    limits: opts.streamingLimits,
    sdks,
  });
  const assessed = createFlagHealth({
    store: signals.store,
    staleAfterMs: config.signals.staleAfterMs,
    historyMs: config.signals.historyMs,
  });
  /**
   * Reads (admin API, dashboard) take the verdict the last tick produced for the flag's current state when it is
   * at most two tick intervals old; only a flag the scheduler does not tick (paused, not started) is assessed
   * on demand.
   */
  let latestVerdict: (name: string) => { verdict: Verdict; version: number } | undefined = () => undefined;
  // A flag no tick covers (paused, rolled back, not started) is folded again only when its state or its signals
  // changed, or a tick interval passed (staleness moves with time): a list of flags never re-folds them all.
  const onDemand = new Map<string, { verdict: Verdict; key: string }>();
  const flagHealth: typeof assessed = {
    ...assessed,
    assess: (flag, now) => {
      const latest = latestVerdict(flag.plan.name);
      const fresh =
        latest &&
        latest.version === flag.state.version &&
        now - latest.verdict.at <= 2 * config.tickIntervalMs;
      if (fresh) return latest.verdict;
      const key = JSON.stringify([
        planChecksum(flag.plan),
        flag.state,
        flag.percent,
        signals.store.writes(flag.plan.name),
      ]);
      const known = onDemand.get(flag.plan.name);
      const age = now - (known?.verdict.at ?? Number.NEGATIVE_INFINITY);
      if (known && known.key === key && age >= 0 && age <= config.tickIntervalMs) return known.verdict;
      const verdict = assessed.assess(flag, now);
      onDemand.set(flag.plan.name, { verdict, key });
      return verdict;
    },
  };
  /** Extra audit checks combined with the built-in ones in every run: SDK reach, and plans no SDK fetched. */
  const auditProviders: CheckProvider[] = [
    (inputs) =>
      sdkReachChecks({
        instances: sdks.list(),
        bounds: sdks.stats(),
        plans: inputs.flags.map((f) => ({ name: f.plan.name })),
        now: inputs.now,
      }),
  ];
  const auditor = createAuditor({
    flags: () => controller.listFlags(),
    signalStore: signals.store,
    events: () => controller.events.list({ limit: 10_000_000 }),
    unplanned: (since) => auditStore.unplanned(since),
    staleAfterMs: config.signals.staleAfterMs,
    providers: auditProviders,
    ...(opts.audit?.power ? { power: opts.audit.power } : {}),
  });
  let wakeNotifier = () => {};
  const auditSchedule = createAuditSchedule({
    db,
    auditor,
    store: auditStore,
    events: controller.events,
    clock,
    log: log.child({ part: 'audit' }),
    intervalMs: opts.audit?.intervalMs ?? config.audit.intervalMs,
    outbox: { store: outbox, targets: targets.map((t) => t.id), now: Date.now },
    onNotified: () => wakeNotifier(),
    leads: replicas.leading,
  });
  const ui = createUiRoutes({
    controller,
    flagHealth,
    sessions: createSessions({
      key: loadSessionKey(config.dataDir, config.ui.sessionSecret),
      ttlMs: config.ui.sessionTtlMs,
      clock,
    }),
    signIn: createSignIn({ auth, viewerTokens: config.ui.viewerTokens }),
    log: log.child({ part: 'ui' }),
    latestAudit: () => auditStore.latest(),
  });
  const app = createApp({
    ui: ui.app,
    controller,
    auth,
    log,
    metrics,
    flagsDir: config.flagsDir,
    readiness,
    served,
    streaming,
    signals,
    flagHealth,
    alertStore,
    alertFiringTtlMs: config.alerts.firingTtlMs,
    storage,
    random: Math.random,
    arms,
    audits: { auditor, store: auditStore, schedule: auditSchedule },
    sdks,
    drills,
    replicas: replicas.status,
  });
  // The guarded service shares the server under /service and reads its flags back through the client API.
  const service =
    config.service.mode === 'on'
      ? startupStep('ROLLGATE_DATA_DIR (service.db)', () =>
          createService({
            dataDir: config.dataDir,
            clock,
            log: log.child({ part: 'service' }),
            queueUrl: config.service.queueUrl,
            queueRetentionMs: config.service.queueRetentionMs,
            ...opts.service,
          }),
        )
      : undefined;
  if (service) app.route('/service', service.app);

  const { url: prometheusUrl, ...prometheusOptions } = config.prometheus;
  const prometheus = createPrometheusSource({
    db,
    client: prometheusUrl ? createPrometheusClient({ url: prometheusUrl, ...prometheusOptions }) : undefined,
    signals: countedIngest(signals, metrics, 'prometheus'),
    flags: () =>
      !replicas.leading()
        ? []
        : controller
            .listFlags()
            .filter(
              (f) => f.state.enabled && (f.state.phase === 'progressing' || f.state.phase === 'completed'),
            ),
    clock,
    log: log.child({ part: 'prometheus' }),
    ...prometheusOptions,
    historyMs: config.signals.historyMs,
  });

  // Assessment folds each rollout's signals: off the serving thread, on a connection of its own.
  const assessThread = createAssessThread({
    dbFile: config.dbFile,
    databaseUrl: config.databaseUrl,
    staleAfterMs: config.signals.staleAfterMs,
    historyMs: config.signals.historyMs,
    settleMs: config.signals.settleMs,
    signals: signals.store,
    folds: createFoldStore(db),
    log,
  });
  // A Prometheus read that failed or came back empty holds the flag with Prometheus's own error.
  const withSource = (name: string, assessed: Verdict): Verdict => {
    const sourceProblem = prometheus.problemFor(name);
    const verdict = sourceProblem ? { ...assessed, sourceProblem } : assessed;
    metrics.verdict(name, verdict);
    return verdict;
  };
  const scheduler = createScheduler({
    controller,
    assess: (flag, now) => withSource(flag.plan.name, assessed.assess(flag, now)),
    assessAll: async (flags, now) => {
      const verdicts = await assessThread.assess(flags, now);
      for (const [name, v] of verdicts) if (!(v instanceof Error)) verdicts.set(name, withSource(name, v));
      return verdicts;
    },
    onTick: metrics.tickTook,
    clock,
    log,
    intervalMs: config.tickIntervalMs,
    leads: replicas.leading,
  });
  latestVerdict = scheduler.latest;

  const stops: Array<() => void | Promise<void>> = [];
  /** Retention of everything that grows with time; each part prunes on its own so one failure stops none. */
  const retention = () => {
    const now = clock();
    const parts: Array<[string, () => unknown]> = [
      ['signals', () => signals.store.prune(now, config.signals)],
      ['idempotency keys', () => signals.pruneKeys(now)],
      ['events', () => controller.events.prune(now - config.retention.eventsMs)],
      ['alerts', () => alertStore.prune(now - config.retention.alertsMs)],
      ['outbox', () => outbox.prune(Date.now() - 7 * 86_400_000)],
      ['audits', () => auditStore.prune(now - config.retention.eventsMs, now - 7 * 86_400_000)],
      ['sdk instances', () => sdkStore.flush(sdks, now)],
    ];
    for (const [part, prune] of parts) {
      try {
        prune();
      } catch (err) {
        storage.fault(err);
        log.error('retention failed', { part, err });
      }
    }
  };
  // Notifications are sent from the outbox their transition wrote, also those a crash left undelivered.
  const notifier = createOutboxSender({
    store: outbox,
    targets,
    secret: config.notify.secret,
    log,
    ...opts.notifier,
    leads: replicas.leading,
  });
  metrics.attach({
    sseClients: streaming.clients,
    outbox: notifier.stats,
    replica: replicas.status,
    sdkInstances: sdks.stats,
  });
  if (targets.length) {
    wakeNotifier = () => notifier.wake();
    notifier.start();
    const unsubscribe = controller.onEvent(() => notifier.wake());
    stops.push(() => {
      unsubscribe();
      return notifier.stop();
    });
  }
  return {
    app,
    db,
    controller,
    served,
    streaming,
    service,
    scheduler,
    flagHealth,
    signals,
    storage,
    readiness,
    notifier,
    replicas,
    audits: { auditor, store: auditStore, schedule: auditSchedule },
    /** One pass of retention (also run every ten minutes once started). */
    retention,
    prometheus,
    sdks,
    drills,
    /** Writes the SDK instances seen since the last flush (also every ten seconds once started). */
    flushSdkInstances: () => sdkStore.flush(sdks, clock(), { all: true }),
    generatedTokens: generated,
    async start(): Promise<{ port: number; url: string }> {
      // Retention (minute buckets roll up into hours, then age out; old events, alerts and keys go) is cheap
      // enough to run every ten minutes; the storage probe runs every five seconds.
      retention();
      const flushSdks = (all = false) => {
        try {
          sdkStore.flush(sdks, clock(), { all });
        } catch (err) {
          storage.fault(err);
          log.error('sdk instance flush failed', { err });
        }
      };
      const timers = [
        setInterval(retention, 600_000),
        setInterval(() => storage.probe(), 5_000),
        setInterval(() => flushSdks(), 10_000),
      ];
      if (config.databaseUrl) {
        // The safety net under LISTEN/NOTIFY: a change whose notification was missed is served within a tick.
        const check = () => {
          try {
            if (served.behind()) served.refresh();
            // What the leader folded for good: signals this replica takes for those minutes are late, not lost.
            if (!replicas.leading()) signals.store.reloadFrozen();
            folderCheck();
          } catch (err) {
            storage.fault(err);
            log.error("checking for other replicas' changes failed", { err });
          }
        };
        timers.push(setInterval(check, config.tickIntervalMs));
      }
      for (const t of timers) t.unref();
      stops.push(() => {
        for (const t of timers) clearInterval(t);
        flushSdks(true);
      });
      // A drill in progress at shutdown stops waiting, restores its flag and records what it saw.
      if (config.drill.intervalMs) drills.schedule(config.drill.intervalMs, replicas.leading);
      stops.push(() => drills.stop());
      if (config.watch) {
        const w = watchPlanDir(
          config.flagsDir,
          () => controller.reload(config.flagsDir, 'plans-watcher'),
          (err) => log.error('plan watcher problem; it keeps checking', { err }),
          opts.watchPollMs ? { pollMs: opts.watchPollMs } : {},
        );
        watcher = w;
        stops.push(() => w.stop());
      }
      // SDK polls take the fast path; everything else (and every poll it cannot answer exactly) goes to Hono.
      const listener = createFastPath({
        served,
        frontend: createFrontendAnswers({ served, random: Math.random, now: clock }),
        auth,
        sdks,
        fallback: getRequestListener(app.fetch, { hostname: config.host }),
      });
      const server = await new Promise<Server>((resolve, reject) => {
        // A request (headers and body) must arrive within the timeout: a slow body cannot hold a socket for ever.
        // Node checks timeouts only every connectionsCheckingInterval (30 s by default), so check often.
        const s = createServer(
          {
            requestTimeout: config.requestTimeoutMs,
            headersTimeout: config.requestTimeoutMs,
            connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs / 2),
          },
          listener,
        ).listen(config.port, config.host, () => resolve(s));
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
      stops.push(() => ui.live.close());
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
      await replicas.start();
      stops.push(() => replicas.stop());
      prometheus.start();
      stops.push(() => prometheus.stop());
      auditSchedule.start();
      stops.push(() => auditSchedule.stop());
      // Reconcile last: everything it acts through is up. Stops run in reverse, so it stops first.
      scheduler.start();
      stops.push(() => scheduler.stop());
      return { port, url: `http://${config.host}:${port}` };
    },
    async stop() {
      ready = false;
      for (const stop of stops.reverse()) await stop();
      await scheduler.stop();
      await drills.stop(); // a no-op when start already stopped it; ends a drill run without start
      await assessThread.close();
      await service?.stop(); // a no-op when start already stopped it
      db.close();
    },
  };
}

/** Runs one start-up step; a file-system or database error becomes one line naming the setting behind it. */
function startupStep<T>(setting: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof StartupError) throw err;
    const e = err as NodeJS.ErrnoException;
    const code = e.code ? ` (${e.code})` : '';
    throw new StartupError('cannot start', [`${setting}: ${e.message.split('\n')[0]}${code}`]);
  }
}

/**
 * Opens rollgate.db (or PostgreSQL when ROLLGATE_DATABASE_URL is set) and applies migrations: a missing or
 * read-only data directory, a file that is not a database, an unreachable server or a changed migration stops
 * the start with the setting named, not a stack trace.
 */
function openStorage(config: Config): { db: SqlDb; applied: string[] } {
  const url = config.databaseUrl;
  if (url) {
    return startupStep('ROLLGATE_DATABASE_URL', () => {
      const db = openPostgres(url);
      try {
        return { db, applied: migrate(db, migrationsPgDir).applied };
      } catch (err) {
        db.close();
        const e = err as NodeJS.ErrnoException;
        throw Object.assign(new Error(`${redactUrl(url)}: ${e.message}`), { code: e.code });
      }
    });
  }
  return startupStep('ROLLGATE_DATA_DIR', () => {
    const where = `${config.dbFile}: `;
    let db: ReturnType<typeof openDb> | undefined;
    try {
      db = openDb(config.dbFile);
      return { db, applied: migrate(db, migrationsDir).applied };
    } catch (err) {
      db?.close();
      const e = err as NodeJS.ErrnoException;
      throw Object.assign(new Error(`${where}${e.message}`), { code: e.code });
    }
  });
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
    queueUrl: config.service.queueUrl,
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
