// Opens a SQLite database the way every part expects it: WAL, foreign keys, a busy timeout.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface OpenOptions {
  /**
   * FULL (the default) makes each commit durable on return, across power loss too. NORMAL, with WAL, still
   * loses nothing when the process dies (kill -9), only the last commits if the machine itself goes down,
   * and saves an fsync per commit that otherwise blocks the event loop.
   */
  synchronous?: 'FULL' | 'NORMAL';
}

export function openDb(file: string, opts: OpenOptions = {}): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
