// The assessment thread: its own read-only connection to the database, folding each flag's signals into a verdict off the serving thread.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openPostgres } from '../db/postgres.ts';
import type { SqlDb } from '../db/sql.ts';
import { type AssessedFlag, createFlagHealth } from './flag-health.ts';
import { createSignalStore } from './signal-store.ts';
import type { Verdict } from './verdict.ts';

export interface AssessRequest {
  id: number;
  flags: AssessedFlag[];
  now: number;
}

export type AssessResult = { flag: string; verdict: Verdict } | { flag: string; error: string };

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
const health = createFlagHealth({
  store: createSignalStore(db),
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
      return { flag: flag.plan.name, verdict: health.assess(flag, request.now) };
    } catch (err) {
      return { flag: flag.plan.name, error: (err as Error).message };
    }
  });
  parentPort?.postMessage({ id: request.id, results });
});
