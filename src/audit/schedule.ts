// The scheduled audit: runs every ROLLGATE_AUDIT_INTERVAL, stores the result, and notifies through the durable
// outbox only when a gate newly fails (a gate failing run after run is announced once).
import type { Clock } from '../clock.ts';
import type { SqlDb } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import type { EventStore, StoredEvent } from '../rollout/event-store.ts';
import { notificationFor } from '../rollout/notification.ts';
import type { OutboxStore } from '../rollout/outbox-store.ts';
import { type Auditor, type AuditReport, gateKey } from './audit.ts';
import type { AuditStore, StoredAuditRun } from './audit-store.ts';
import type { AuditCheck } from './check.ts';

export const auditActor = 'audit';

export interface AuditScheduleDeps {
  db: SqlDb;
  auditor: Auditor;
  store: AuditStore;
  events: EventStore;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  /** Webhook targets (ids) and wall time, as the controller writes its notifications. */
  outbox?: { store: OutboxStore; targets: readonly string[]; now: () => number };
  /** Called after a notification was written (wakes the sender). */
  onNotified?: () => void;
  /** Scheduled runs happen only where this says so: on the leading replica, so a gate is announced once. */
  leads?: () => boolean;
}

export interface AuditRunResult {
  run: StoredAuditRun;
  report: AuditReport;
  newlyFailing: AuditCheck[];
  /** The audit.failed event, when gates newly failed. */
  eventId: number | null;
}

export type AuditSchedule = ReturnType<typeof createAuditSchedule>;

export function createAuditSchedule(deps: AuditScheduleDeps) {
  const { db, store, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<AuditRunResult> | undefined;

  /** Stores the run, and in the same transaction the event and outbox messages of the gates that newly fail. */
  function record(report: AuditReport, trigger: string, now: number): AuditRunResult {
    return db.transaction(() => {
      const before = new Set(store.latest()?.failing ?? []);
      const failing = report.checks.filter((c) => c.status === 'fail');
      const newlyFailing = failing.filter((c) => !before.has(gateKey(c)));
      const runId = store.insert({
        at: now,
        trigger,
        status: report.status,
        failing: [...new Set(failing.map(gateKey))],
        report,
      });
      let eventId: number | null = null;
      if (newlyFailing.length) {
        const first = newlyFailing[0] as AuditCheck;
        const event = {
          at: now,
          flag: null,
          type: 'audit.failed',
          actor: auditActor,
          reason: `${newlyFailing.length} audit gate(s) newly fail; first: ${first.summary}`,
          data: {
            runId,
            newlyFailing: newlyFailing.map((c) => ({
              check: c.check,
              subject: c.subject ?? null,
              summary: c.summary,
              action: c.action,
            })),
          },
        };
        eventId = deps.events.append(event);
        const outbox = deps.outbox;
        if (outbox?.targets.length) {
          const stored: StoredEvent = { id: eventId, ...event };
          const body = JSON.stringify(notificationFor(stored, undefined));
          for (const target of outbox.targets)
            outbox.store.enqueue({ eventId, target, type: event.type, body }, outbox.now());
        }
      }
      const run = store.latest() as StoredAuditRun;
      return { run, report, newlyFailing, eventId };
    })();
  }

  /** One audit now: run, store, notify. Concurrent calls share the run in flight. */
  function runNow(trigger: 'schedule' | 'request' = 'request'): Promise<AuditRunResult> {
    running ??= (async () => {
      try {
        const now = deps.clock();
        const report = await deps.auditor.run(now);
        const result = record(report, trigger, now);
        if (result.eventId !== null) deps.onNotified?.();
        log.info('audit run', {
          status: report.status,
          ...report.counts,
          newlyFailing: result.newlyFailing.length,
        });
        return result;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  return {
    runNow,
    start() {
      timer = setInterval(() => {
        if (deps.leads && !deps.leads()) return;
        runNow('schedule').catch((err) =>
          log.error('scheduled audit failed; it runs again next interval', { err }),
        );
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
