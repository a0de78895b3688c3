// Delivers the notification outbox: signed JSON POSTs, at least once, with backoff, across restarts; never follows redirects.
import { createHash, createHmac } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { OutboxMessage, OutboxStore } from './outbox-store.ts';

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** One webhook: where to POST, with any user:password moved into a header, and a label safe to log. */
export interface NotifyTarget {
  /** sha256 of the configured URL: what the outbox stores instead of the URL. */
  id: string;
  url: string;
  authorization?: string;
  /** protocol://host only: a Slack webhook's path and a query token are secrets. */
  label: string;
}

export function notifyTargets(urls: readonly string[]): NotifyTarget[] {
  return urls.map((raw) => {
    const u = new URL(raw);
    const target: NotifyTarget = {
      id: createHash('sha256').update(raw).digest('hex'),
      url: raw,
      label: `${u.protocol}//${u.host}`,
    };
    // fetch refuses URLs with credentials: send them as Basic auth instead.
    if (u.username || u.password) {
      const user = decodeURIComponent(u.username);
      const password = decodeURIComponent(u.password);
      target.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      u.username = '';
      u.password = '';
      target.url = u.toString();
    }
    return target;
  });
}

export interface SenderOptions {
  store: OutboxStore;
  targets: readonly NotifyTarget[];
  secret?: string | undefined;
  log: Logger;
  fetch?: typeof fetch;
  /** Wall time for backoff and the signed timestamp; never the controller's (possibly virtual) clock. */
  now?: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  /** How often the outbox is looked at when nothing woke the sender (retries due, other processes). */
  pollMs?: number;
  /** Only the leading replica sends, so a notification is sent by one process; the others keep looking. */
  leads?: () => boolean;
}

export type OutboxSender = ReturnType<typeof createOutboxSender>;

/**
 * Sends what the outbox holds. A message is marked delivered only after a 2xx; a 5xx, 408, 429 or network
 * error is retried with exponential backoff up to `maxAttempts`; any other answer, a 3xx included (a
 * redirect is never followed: it could send the signed body anywhere), fails it at once.
 */
export function createOutboxSender(opts: SenderOptions) {
  const { store, log } = opts;
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  const maxAttempts = opts.maxAttempts ?? 8;
  const baseDelayMs = opts.baseDelayMs ?? 1000;
  const maxDelayMs = opts.maxDelayMs ?? 600_000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const concurrency = opts.concurrency ?? 4;
  const byId = new Map(opts.targets.map((t) => [t.id, t]));
  const inFlight = new Map<number, Promise<void>>();
  const aborts = new Set<AbortController>();
  const stats = { sent: 0, failed: 0, retried: 0 };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];

  async function deliver(m: OutboxMessage) {
    const attempt = m.attempts + 1;
    const target = byId.get(m.target);
    if (!target) {
      store.failed(m.id, attempt - 1, 'its webhook is no longer configured', now());
      stats.failed++;
      return;
    }
    const timestamp = String(Math.floor(now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'rollgate-notifier',
      'x-rollgate-event': m.type,
      'x-rollgate-delivery': String(m.eventId),
      'x-rollgate-timestamp': timestamp,
    };
    if (target.authorization) headers.authorization = target.authorization;
    if (opts.secret) headers['x-rollgate-signature'] = signature(opts.secret, timestamp, m.body);
    const abort = new AbortController();
    aborts.add(abort);
    let problem: string;
    let retryable = true;
    try {
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]);
      const res = await doFetch(target.url, {
        method: 'POST',
        headers,
        body: m.body,
        signal,
        redirect: 'manual',
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        store.delivered(m.id, attempt, now());
        stats.sent++;
        return;
      }
      problem =
        res.status >= 300 && res.status < 400
          ? `HTTP ${res.status} redirect (not followed)`
          : `HTTP ${res.status}`;
      // Other 4xx (and redirects) mean the receiver will not take this message; sending it again changes nothing.
      retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    } catch (err) {
      if (stopped) return; // aborted at shutdown: still pending, sent again at the next start
      problem = (err as Error).message;
    } finally {
      aborts.delete(abort);
    }
    if (retryable && attempt < maxAttempts) {
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      store.retryAt(m.id, attempt, now() + delay, problem, now());
      stats.retried++;
      log.debug('notification failed; will retry', {
        target: target.label,
        eventId: m.eventId,
        attempt,
        problem,
      });
      return;
    }
    store.failed(m.id, attempt, problem, now());
    stats.failed++;
    log.warn('notification not delivered', {
      target: target.label,
      eventId: m.eventId,
      attempts: attempt,
      problem,
    });
  }

  /** Starts every due message up to the concurrency limit, then sleeps until the next one is due. */
  function pump() {
    clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    let due: OutboxMessage[] = [];
    if (opts.leads && !opts.leads()) {
      timer = setTimeout(pump, opts.pollMs ?? 5000).unref();
      return;
    }
    try {
      due = store.due(now(), concurrency * 4);
    } catch (err) {
      log.error('cannot read the notification outbox; will try again', { err });
    }
    for (const m of due) {
      if (inFlight.size >= concurrency) break;
      if (inFlight.has(m.id)) continue;
      const run = deliver(m)
        .catch((err) => log.error('notification delivery failed to record; it stays pending', { err }))
        .finally(() => {
          inFlight.delete(m.id);
          pump();
        });
      inFlight.set(m.id, run);
    }
    let next: number | null = null;
    try {
      next = store.nextDueAt();
    } catch {
      next = null;
    }
    if (inFlight.size === 0 && next === null) {
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
    }
    const wait =
      next === null ? (opts.pollMs ?? 5000) : Math.max(0, Math.min(next - now(), opts.pollMs ?? 5000));
    if (inFlight.size < concurrency) timer = setTimeout(pump, wait).unref();
  }

  return {
    /** Looks at the outbox now (after a transition committed). */
    wake: () => {
      if (!stopped) setImmediate(pump);
    },
    start: () => pump(),
    /** Resolves when nothing is in flight and nothing is pending: every message delivered or failed (tests). */
    idle(): Promise<void> {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        pump();
      });
    },
    /** This process's deliveries, and the messages still waiting in the outbox (any process's). */
    stats: () => ({ ...stats, inFlight: inFlight.size, pending: store.counts().pending }),
    /** Stops sending; undelivered messages stay in the outbox for the next start. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      for (const abort of aborts) abort.abort();
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
