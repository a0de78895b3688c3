// The assessment thread: its own read-only connection to the database, carrying each flag's fold and advancing it with the newly closed intervals, off the serving thread.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openPostgres } from '../db/postgres.ts';
import type { SqlDb } from '../db/sql.ts';
import { type AssessedFlag, createFoldingHealth } from './flag-health.ts';
import { createFoldStore, type FoldRow } from './fold-store.ts';
import { createSignalStore } from './signal-store.ts';
import type { Verdict } from './verdict.ts';

export interface AssessRequest {
  id: number;
  flags: AssessedFlag[];
  now: number;
  /** Intervals ending by then are folded for good; the serving thread made later signals for them late first. */
  closedBefore: number;
}

/** Per flag a verdict, with the fold rows to store when its fold moved on, or the error that stopped it. */
export type AssessResult =
  | { flag: string; verdict: Verdict; rows: FoldRow[] }
  | { flag: string; error: string };

const { dbFile, databaseUrl, staleAfterMs, historyMs } = workerData as {
  dbFile: string;
  databaseUrl?: string;
  staleAfterMs?: number;
  historyMs?: number;
};
// WAL lets this reader see every committed write without ever blocking the writer on the main thread.
function openSqlite(): SqlDb {
  const sqlite = new Database(dbFile, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  return sqlite;
}
const db = databaseUrl ? openPostgres(databaseUrl) : openSqlite();
// The folds go on from what the serving thread stored last (after a restart too); this thread only reads.
const health = createFoldingHealth({
  store: createSignalStore(db),
  rows: createFoldStore(db).load(),
  ...(staleAfterMs === undefined ? {} : { staleAfterMs }),
  ...(historyMs === undefined ? {} : { historyMs }),
});

parentPort?.on('message', (request: AssessRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  const results: AssessResult[] = request.flags.map((flag) => {
    try {
      return { flag: flag.plan.name, ...health.assess(flag, request.now, request.closedBefore) };
    } catch (err) {
      return { flag: flag.plan.name, error: (err as Error).message };
    }
  });
  parentPort?.postMessage({ id: request.id, results });
});
