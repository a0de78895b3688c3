import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { migrationsDir } from '../../src/main.ts';
import { tempDir } from '../helpers/rollgate.ts';

function scratch() {
  const dir = tempDir('rollgate-mig-');
  const migrations = path.join(dir, 'migrations');
  fs.mkdirSync(migrations);
  fs.writeFileSync(path.join(migrations, '001_a.sql'), 'CREATE TABLE a (x INTEGER);');
  fs.writeFileSync(path.join(migrations, '002_b.sql'), 'CREATE TABLE b (y INTEGER);');
  return { file: path.join(dir, 'x.db'), migrations };
}

describe('migrate', () => {
  it('applies the bundled migrations on a real file, with WAL and foreign keys on', () => {
    const db = openDb(path.join(tempDir(), 'r.db'));
    expect(migrate(db, migrationsDir).applied[0]).toBe('001_core.sql');
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('applies pending migrations in order once, and is a no-op the second time', () => {
    const { file, migrations } = scratch();
    const db = openDb(file);
    expect(migrate(db, migrations).applied).toEqual(['001_a.sql', '002_b.sql']);
    expect(migrate(db, migrations).applied).toEqual([]);
    fs.writeFileSync(path.join(migrations, '003_c.sql'), 'CREATE TABLE c (z INTEGER);');
    expect(migrate(db, migrations).applied).toEqual(['003_c.sql']);
    db.close();
  });

  it('refuses to start when an applied migration changed', () => {
    const { file, migrations } = scratch();
    const db = openDb(file);
    migrate(db, migrations);
    fs.writeFileSync(path.join(migrations, '001_a.sql'), 'CREATE TABLE a (x INTEGER, extra TEXT);');
    expect(() => migrate(db, migrations)).toThrow(
      /001_a.sql changed after it was applied \(checksum mismatch\)/,
    );
    db.close();
  });

  it('refuses to start when an applied migration file is missing', () => {
    const { file, migrations } = scratch();
    const db = openDb(file);
    migrate(db, migrations);
    fs.rmSync(path.join(migrations, '002_b.sql'));
    expect(() => migrate(db, migrations)).toThrow(
      /002_b.sql was applied to this database but its file is missing/,
    );
    db.close();
  });

  it('rolls back a failing migration whole, recording nothing', () => {
    const { file, migrations } = scratch();
    fs.writeFileSync(
      path.join(migrations, '003_bad.sql'),
      'CREATE TABLE ok (v INTEGER); CREATE TABLE a (dup INTEGER);',
    );
    const db = openDb(file);
    expect(() => migrate(db, migrations)).toThrow(/already exists/);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ok'").all();
    expect(tables).toEqual([]);
    expect(db.prepare('SELECT name FROM schema_migrations ORDER BY id').pluck().all()).toEqual([
      '001_a.sql',
      '002_b.sql',
    ]);
    db.close();
  });
});
