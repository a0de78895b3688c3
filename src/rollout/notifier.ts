// Outgoing webhooks for rollout transitions: signed JSON with Slack-compatible text, retried from a bounded queue.
import { createHmac } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { Controller } from './controller.ts';
import type { StoredEvent } from './event-store.ts';
import { type FlagView, flagViewOf, notificationFor } from './notification.ts';

export const notifiedEvents = new Set([
  'rollout.started',
  'rollout.promoted',
  'rollout.held',
  'rollout.paused',
  'rollout.resumed',
  'rollout.stepped-back',
  'rollout.rolled-back',
  'rollout.completed',
  'flag.enabled',
  'flag.disabled',
]);

export interface NotifierOptions {
  urls: readonly string[];
  secret?: string | undefined;
  log: Logger;
  /** The flag as it is right after the transition; read at enqueue time, inside the commit's aftermath. */
  describe?: (flag: string) => FlagView | undefined;
  fetch?: typeof fetch;
  /** Wall time for backoff and the signed timestamp; never the controller's (possibly virtual) clock. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  maxQueue?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  drainMs?: number;
}

interface Job {
  url: string;
  body: string;
  type: string;
  eventId: number;
  attempt: number;
  dueAt: number;
}

export type Notifier = ReturnType<typeof createNotifier>;

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createNotifier(opts: NotifierOptions) {
  const { log } = opts;
  const clock = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  // Unreferenced: a pending retry must not keep a process alive that has nothing else to do.
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  const maxQueue = opts.maxQueue ?? 1000;
  const maxAttempts = opts.maxAttempts ?? 6;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const concurrency = opts.concurrency ?? 4;

  const queue: Job[] = [];
  const inFlight = new Set<Promise<void>>();
  const aborts = new Set<AbortController>();
  let timer: unknown;
  let stopping = false;
  let idleWaiters: Array<() => void> = [];
  const stats = { sent: 0, failed: 0, dropped: 0, retried: 0 };

  function enqueue(event: StoredEvent) {
    if (stopping || !notifiedEvents.has(event.type) || opts.urls.length === 0) return;
    const view = event.flag ? opts.describe?.(event.flag) : undefined;
    const body = JSON.stringify(notificationFor(event, view));
    for (const url of opts.urls) {
      if (queue.length >= maxQueue) {
        const dropped = queue.shift();
        stats.dropped++;
        log.warn('notification queue full; dropped the oldest', {
          maxQueue,
          droppedEvent: dropped?.eventId,
          target: dropped && targetOf(dropped.url),
        });
      }
      queue.push({ url, body, type: event.type, eventId: event.id, attempt: 0, dueAt: clock() });
    }
    pump();
  }

  /** Starts every due job up to the concurrency limit, and wakes up again when the next retry is due. */
  function pump() {
    if (timer !== undefined) clearTimer(timer);
    timer = undefined;
    const now = clock();
    while (inFlight.size < concurrency) {
      const index = queue.findIndex((j) => stopping || j.dueAt <= now);
      if (index < 0) break;
      const [job] = queue.splice(index, 1);
      if (!job) break;
      const run = deliver(job).finally(() => {
        inFlight.delete(run);
        pump();
      });
      inFlight.add(run);
    }
    if (queue.length === 0 && inFlight.size === 0) {
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
      return;
    }
    if (inFlight.size < concurrency && queue.length > 0) {
      const next = Math.min(...queue.map((j) => j.dueAt));
      timer = setTimer(pump, Math.max(0, next - now));
    }
  }

  async function deliver(job: Job) {
    job.attempt++;
    const timestamp = String(Math.floor(clock() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'rollgate-notifier',
      'x-rollgate-event': job.type,
      'x-rollgate-delivery': String(job.eventId),
      'x-rollgate-timestamp': timestamp,
    };
    if (opts.secret) headers['x-rollgate-signature'] = signature(opts.secret, timestamp, job.body);
    const abort = new AbortController();
    aborts.add(abort);
    let problem: string;
    let retryable = true;
    try {
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]);
      const res = await doFetch(job.url, { method: 'POST', headers, body: job.body, signal });
      await res.body?.cancel();
      if (res.ok) {
        stats.sent++;
        return;
      }
      problem = `HTTP ${res.status}`;
      // Other 4xx mean the receiver rejects this message; sending it again would not change that.
      retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    } catch (err) {
      problem = (err as Error).message;
    } finally {
      aborts.delete(abort);
    }
    if (retryable && job.attempt < maxAttempts && !stopping) {
      stats.retried++;
      job.dueAt = clock() + baseDelayMs * 2 ** (job.attempt - 1);
      queue.push(job);
      log.debug('notification failed; will retry', {
        target: targetOf(job.url),
        eventId: job.eventId,
        problem,
      });
      return;
    }
    stats.failed++;
    log.warn('notification not delivered', {
      target: targetOf(job.url),
      eventId: job.eventId,
      attempts: job.attempt,
      problem,
    });
  }

  /** Resolves when nothing is queued or in flight (tests, and draining on stop). */
  function idle(): Promise<void> {
    if (queue.length === 0 && inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  return {
    enqueue,
    idle,
    stats: () => ({ ...stats, queued: queue.length, inFlight: inFlight.size }),
    /** Gives queued messages one last prompt attempt, waits up to `drainMs`, then abandons the rest. */
    async stop(): Promise<void> {
      stopping = true;
      pump();
      let deadline: unknown;
      const expired = new Promise<void>((resolve) => {
        deadline = setTimer(resolve, opts.drainMs ?? 2000);
      });
      await Promise.race([idle(), expired]);
      clearTimer(deadline);
      if (timer !== undefined) clearTimer(timer);
      const abandoned = queue.length + inFlight.size;
      queue.length = 0;
      for (const abort of aborts) abort.abort();
      if (abandoned) log.warn('notifications abandoned at shutdown', { count: abandoned });
    },
  };
}

/** Sends every notified transition of this controller, reading the flag as it stands right after the commit. */
export function notifyTransitions(controller: Controller, opts: Omit<NotifierOptions, 'describe'>): Notifier {
  const notifier = createNotifier({
    ...opts,
    describe: (name) => {
      const flag = controller.getFlag(name);
      return flag && flagViewOf(flag);
    },
  });
  const unsubscribe = controller.onEvent(notifier.enqueue);
  return {
    ...notifier,
    async stop() {
      unsubscribe();
      await notifier.stop();
    },
  };
}

/** Where a webhook goes, without its path: a Slack incoming-webhook URL is itself the secret. */
function targetOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
