// A real SQLite file with every migration applied, and the signal rows read back as plain objects.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/db/migrate.ts';
import { type Db, openDb } from '../../src/db/open.ts';

const migrationsDir = path.resolve(import.meta.dirname, '../../src/db/migrations');

export function signalDbFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-signals-')), 'rollgate.db');
}

export function openSignalDb(file = signalDbFile()): Db {
  const db = openDb(file);
  migrate(db, migrationsDir);
  return db;
}

export interface BucketRow {
  flag: string;
  start: number;
  metric: string;
  arm: string;
  width: number;
  count: number;
  sum: number;
  sumsq: number | null;
}

export function bucketRows(db: Db): BucketRow[] {
  return db
    .prepare<[], BucketRow>('SELECT * FROM signal_buckets ORDER BY flag, start, metric, arm, width')
    .all();
}

export function histogramRows(
  db: Db,
): Array<{ arm: string; start: number; width: number; le: number; count: number }> {
  return db
    .prepare<[], { arm: string; start: number; width: number; le: number; count: number }>(
      'SELECT arm, start, width, le, count FROM signal_histograms ORDER BY flag, start, arm, width, le',
    )
    .all();
}
