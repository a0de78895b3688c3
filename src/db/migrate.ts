// Ordered .sql migrations, each applied in its own transaction and recorded with a checksum.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { advisoryLocks, takeTurns } from './postgres.ts';
import type { SqlDb } from './sql.ts';

export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

const fileName = /^(\d+)_([a-z0-9_-]+)\.sql$/;

export function readMigrations(dir: string): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => {
      const m = fileName.exec(f);
      if (!m) throw new Error(`migration file ${f} must be named NNN_name.sql`);
      const sql = fs.readFileSync(path.join(dir, f), 'utf8');
      return { id: Number(m[1]), name: f, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    })
    .sort((a, b) => a.id - b.id);
}

export interface MigrateResult {
  applied: string[];
}

/** Applies pending migrations; refuses to run when an applied one changed or went missing. */
export function migrate(db: SqlDb, dir: string, table = 'schema_migrations'): MigrateResult {
  const migrations = readMigrations(dir);
  const ids = new Set<number>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`two migrations share the number ${m.id} in ${path.basename(dir)}`);
    ids.add(m.id);
  }
  // Replicas starting together on one PostgreSQL apply migrations one at a time.
  db.transaction(() => {
    takeTurns(db, advisoryLocks.migrate);
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  })();
  const applied = new Map(
    (db.prepare(`SELECT id, name, checksum FROM ${table}`).all() as Array<Omit<Migration, 'sql'>>).map(
      (r) => [r.id, r],
    ),
  );
  for (const [id, row] of applied) {
    const file = migrations.find((m) => m.id === id);
    if (!file) throw new Error(`migration ${row.name} was applied to this database but its file is missing`);
    if (file.checksum !== row.checksum) {
      throw new Error(
        `migration ${row.name} changed after it was applied (checksum mismatch); refusing to start`,
      );
    }
  }
  const record = db.prepare(`INSERT INTO ${table} (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)`);
  const recorded = db.prepare<[number], { id: number }>(`SELECT id FROM ${table} WHERE id = ?`);
  const done: string[] = [];
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    // Another replica may have applied it while this one waited for the lock.
    const ran = db.transaction(() => {
      takeTurns(db, advisoryLocks.migrate);
      if (recorded.get(m.id)) return false;
      db.exec(m.sql);
      record.run(m.id, m.name, m.checksum, new Date().toISOString());
      return true;
    })();
    if (ran) done.push(m.name);
  }
  return { applied: done };
}
