// Composition of the execution-tasks service: its database, queue, workers, flag client, signal reporter and routes.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { type Clock, systemClock } from '../clock.ts';
import { createLogger, type Logger } from '../log.ts';
import { createFlagClient, serviceFlags } from './flag-client.ts';
import { createOfferStore } from './offer-store.ts';
import type { PriceList } from './pricing.ts';
import { createRedisQueue } from './redis-queue.ts';
import type { SegmentBy } from './segment.ts';
import { segmentFor } from './segment.ts';
import { createServiceApp } from './service-app.ts';
import { openServiceDb } from './service-db.ts';
import { createSignalReporter, type ReporterOptions } from './signal-reporter.ts';
import { defaultWorkKnobs, type WorkKnobs } from './simulate.ts';
import { createSqliteQueue } from './sqlite-queue.ts';
import type { QueuePolicy, TaskQueue } from './task-queue.ts';
import { createTaskStore } from './task-store.ts';
import { createWorkers, type WorkerOptions } from './workers.ts';

export interface ServiceOptions {
  /** service.db is kept here, apart from Rollgate's own database. */
  dataDir: string;
  clock?: Clock;
  log?: Logger;
  newId?: () => string;
  /** Simulated work: seed, duration, base failure rate and the queue defect (changeable later with setKnobs). */
  work?: Partial<WorkKnobs>;
  queue?: Partial<QueuePolicy>;
  /** redis:// or rediss://: the task queue lives on Redis (BullMQ) instead of service.db. */
  queueUrl?: string | undefined;
  /** Done and dead queue entries are forgotten this long after they settled (7 days by default). */
  queueRetentionMs?: number | undefined;
  /** Key prefix of the Redis queue, so several deployments can share one Redis. */
  queuePrefix?: string;
  workers?: Partial<WorkerOptions> & { enabled?: boolean };
  signals?: Partial<ReporterOptions>;
  flags?: { appName?: string; refreshMs?: number; metricsMs?: number; readyTimeoutMs?: number };
  /**
   * The context field outcomes are reported by, one segment per value (for a plan guardrail `by: region`):
   * the caller's X-Region header by default, the tenant id, or none.
   */
  segmentBy?: SegmentBy;
  /** Recorded as ai_model where schema.ai-model is on and the request names none. */
  aiModel?: string;
  prices?: Partial<PriceList>;
}

/** Where the service finds Rollgate: its Unleash client API, the signal intake, and the tokens for each. */
export interface ServiceTarget {
  unleashUrl: string;
  clientToken: string;
  /** Defaults to `signals` next to the client API (`<unleashUrl>signals`, i.e. /api/signals). */
  signalsUrl?: string;
  /** An ingest token; the client token otherwise. */
  signalsToken?: string;
}

export type Service = ReturnType<typeof createService>;

export function createService(opts: ServiceOptions) {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger('info', { service: 'tasks' });
  const newId = opts.newId ?? randomUUID;
  const { db, applied } = openServiceDb(path.join(opts.dataDir, 'service.db'));
  if (applied.length) log.info('service migrations applied', { applied });

  let knobs: WorkKnobs = { ...defaultWorkKnobs, ...opts.work };
  const segmentBy = opts.segmentBy ?? 'region';
  const tasks = createTaskStore(db);
  const queueBackend = opts.queueUrl ? 'redis' : 'sqlite';
  const queue: TaskQueue = opts.queueUrl
    ? createRedisQueue({
        url: opts.queueUrl,
        policy: opts.queue ?? {},
        log: log.child({ part: 'queue' }),
        ...(opts.queuePrefix ? { prefix: opts.queuePrefix } : {}),
      })
    : createSqliteQueue({ db, clock, policy: opts.queue ?? {} });
  // The host only: the URL may carry a password.
  if (opts.queueUrl) log.info('task queue on redis', { host: new URL(opts.queueUrl).host });
  const offers = createOfferStore(db);
  const flags = createFlagClient({ log });
  const reporter = createSignalReporter({ clock, log, options: opts.signals ?? {} });
  const workers = createWorkers({
    queue,
    tasks,
    knobs: () => knobs,
    clock,
    log,
    options: opts.workers ?? {},
    // Every delivery is one request of the queued arm; a dead letter is a failed one.
    onAttempt: (o) =>
      reporter.record({
        flag: serviceFlags.queue,
        arm: 'treatment',
        segment: segmentFor(segmentBy, o.task),
        unit: o.task.userId,
        request: true,
        error: !o.ok,
        latencyMs: o.processingMs,
      }),
  });
  const workersEnabled = opts.workers?.enabled ?? true;
  const prices: PriceList = { basePrice: 19.0, currency: 'EUR', ...opts.prices };

  const app = createServiceApp({
    tasks,
    queue,
    enqueued: () => workers.wake(),
    offers,
    flags,
    record: reporter.record,
    knobs: () => knobs,
    clock,
    log,
    newId,
    aiModel: opts.aiModel ?? 'tasks-llm-v1',
    segmentBy,
    prices,
    health: async () => {
      // A queue that cannot answer (Redis away) makes the service degraded, not its health endpoint an error.
      const stats = await queue.stats().then(
        (s) => ({ backend: queueBackend, ...s }),
        (err: Error) => ({ backend: queueBackend, error: err.message }),
      );
      const synchronized = flags.synchronized();
      return {
        status: 'error' in stats ? 'degraded' : synchronized ? 'ok' : 'starting',
        flags: { synchronized },
        queue: stats,
        workers: { running: workers.running, inflight: workers.inflight },
        signals: reporter.stats(),
      };
    },
  });

  let started = false;
  let stopped = false;
  let retention: NodeJS.Timeout | undefined;
  return {
    app,
    db,
    tasks,
    queue,
    offers,
    flags,
    reporter,
    workers,
    knobs: () => knobs,
    /** Changes the simulated work while running: the demo turns the queue defect on and off here. */
    setKnobs(next: Partial<WorkKnobs>) {
      knobs = { ...knobs, ...next };
    },
    /** Connects the SDK, starts reporting and (unless disabled) the workers; resolves once flags are fetched or the wait times out. */
    async start(target: ServiceTarget): Promise<{ synchronized: boolean }> {
      if (started) throw new Error('service already started');
      started = true;
      const interrupted = tasks.failInterrupted(clock());
      if (interrupted)
        log.warn('inline tasks interrupted by the last stop were marked failed', { interrupted });
      const requeued = await requeueOrphans();
      if (requeued) log.warn('queued tasks without a queue entry were enqueued again', { requeued });
      const base = target.unleashUrl.endsWith('/') ? target.unleashUrl : `${target.unleashUrl}/`;
      const synced = flags.connect({
        url: base,
        token: target.clientToken,
        appName: opts.flags?.appName ?? 'rollgate-tasks',
        refreshMs: opts.flags?.refreshMs ?? 5_000,
        metricsMs: opts.flags?.metricsMs ?? 30_000,
        backupDir: opts.dataDir,
      });
      reporter.start({
        url: target.signalsUrl ?? new URL('signals', base).toString(),
        token: target.signalsToken ?? target.clientToken,
      });
      if (workersEnabled) workers.start();
      const retentionMs = opts.queueRetentionMs ?? 7 * 86_400_000;
      const prune = () =>
        queue.prune(clock() - retentionMs).catch((err) => log.warn('queue retention failed', { err }));
      void prune();
      retention = setInterval(prune, 3_600_000);
      retention.unref();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), opts.flags?.readyTimeoutMs ?? 10_000);
      });
      const synchronized = await Promise.race([synced.then(() => true), timedOut]);
      clearTimeout(timer);
      if (!synchronized)
        log.warn('flags not fetched yet; every change stays off until they are', { url: base });
      return { synchronized };
    },
    /** Finishes attempts in flight, sends buffered signals, then closes the SDK, the queue and the database; idempotent. */
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(retention);
      await workers.stop();
      await reporter.stop();
      await flags.close();
      await queue.close();
      db.close();
    },
  };

  async function requeueOrphans(): Promise<number> {
    let n = 0;
    for (const id of tasks.queuedIds()) if (await queue.enqueue(id)) n += 1;
    return n;
  }
}
