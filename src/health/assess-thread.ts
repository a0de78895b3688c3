// Runs assessment in a worker thread with its own database connection, so SDK polls, streams and alerts never wait behind it.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { AssessResult } from './assess-worker.ts';
import { type AssessedFlag, closedBefore } from './flag-health.ts';
import type { FoldStore } from './fold-store.ts';
import type { SignalStore } from './signal-store.ts';
import type { Verdict } from './verdict.ts';

export interface AssessThreadOptions {
  dbFile: string;
  /** Set when the state lives in PostgreSQL: the thread opens its own connection there instead. */
  databaseUrl?: string | undefined;
  staleAfterMs?: number;
  historyMs?: number;
  /** Intervals are folded for good once they ended this long ago (ROLLGATE_SIGNAL_SETTLE). */
  settleMs: number;
  /** The serving thread's signal store: it makes signals for minutes about to be folded late first. */
  signals: Pick<SignalStore, 'freeze'>;
  /** Where the folds that moved on are stored, so a restart goes on from them. */
  folds: Pick<FoldStore, 'save'>;
  log: Logger;
}

export type AssessThread = ReturnType<typeof createAssessThread>;

/**
 * One worker thread, started on first use and again after it dies. Requests are answered in order; a request
 * in flight when the thread dies is refused, and the caller decides what a tick without verdicts does.
 */
export function createAssessThread(opts: AssessThreadOptions) {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve(r: AssessResult[]): void; reject(err: Error): void }>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  function start(): Worker {
    // Workers do not inherit tsx's loader on Node 20: register it inside the worker before loading the entry.
    const entry = new URL('./assess-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
    const w = new Worker(boot, {
      eval: true,
      workerData: {
        dbFile: opts.dbFile,
        databaseUrl: opts.databaseUrl,
        staleAfterMs: opts.staleAfterMs,
        historyMs: opts.historyMs,
      },
    });
    w.on('message', (m: { id: number; results: AssessResult[] }) => {
      pending.get(m.id)?.resolve(m.results);
      pending.delete(m.id);
    });
    w.on('error', (err) => {
      opts.log.error('assessment thread failed; it restarts on the next request', { err });
      failAll(err);
      worker = undefined;
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      if (pending.size) failAll(new Error(`assessment thread exited (${code})`));
    });
    return w;
  }

  return {
    /** Verdicts for `flags` at `now`, computed off this thread; per flag a verdict or the error that stopped it. */
    assess(flags: readonly AssessedFlag[], now: number): Promise<Map<string, Verdict | Error>> {
      worker ??= start();
      const id = nextId++;
      const w = worker;
      return new Promise<AssessResult[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Before the thread reads: a signal stored from now on for a minute it folds for good is late, so
        // whatever the thread's snapshot holds of those minutes is all they will ever hold.
        const until = closedBefore(now, opts.settleMs);
        for (const f of flags) opts.signals.freeze(f.plan.name, until);
        // Plain data only: plans, states and percents are JSON-shaped.
        w.postMessage({
          id,
          now,
          closedBefore: until,
          flags: flags.map((f) => ({ plan: f.plan, state: f.state, percent: f.percent })),
        });
      }).then((results) => {
        try {
          opts.folds.save(
            results.flatMap((r) => ('rows' in r ? r.rows : [])),
            now,
          );
        } catch (err) {
          // Harmless for the verdicts: the thread keeps its folds, and a restart folds on from the last stored.
          opts.log.error('storing fold states failed', { err });
        }
        return new Map(
          results.map((r) => [r.flag, 'verdict' in r ? r.verdict : new Error(r.error)] as const),
        );
      });
    },
    async close(): Promise<void> {
      const w = worker;
      worker = undefined;
      if (!w) return;
      failAll(new Error('assessment thread closed'));
      await w.terminate();
    },
  };
}
