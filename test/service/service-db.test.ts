import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { openServiceDb, serviceMigrationsDir, serviceMigrationsTable } from '../../src/service/service-db.ts';
import { createTaskStore, type NewTask } from '../../src/service/task-store.ts';
import { tempDir } from '../helpers/rollgate.ts';

const newTask = (id: string, over: Partial<NewTask> = {}): NewTask => ({
  id,
  tenantId: 'acme',
  userId: 'u1',
  type: 'ideas-implementation',
  input: { idea: id },
  mode: 'inline',
  status: 'running',
  createdAt: 1_000,
  ...over,
});

const columnsOf = (db: ReturnType<typeof openDb>) =>
  (db.prepare('PRAGMA table_info(execution_tasks)').all() as Array<{ name: string; notnull: number }>).map(
    (c) => `${c.name}:${c.notnull}`,
  );

/** A database as the service left it before the schema change: only the baseline migration applied. */
function baselineDb(file: string) {
  const dir = path.join(tempDir('rollgate-svc-mig-'), 'migrations');
  fs.mkdirSync(dir);
  fs.copyFileSync(
    path.join(serviceMigrationsDir, '001_execution_tasks.sql'),
    path.join(dir, '001_execution_tasks.sql'),
  );
  const db = openDb(file);
  migrate(db, dir, serviceMigrationsTable);
  return db;
}

describe('service database', () => {
  it('records its migrations in its own table, and a second run applies nothing and changes nothing', () => {
    const file = path.join(tempDir(), 'service.db');
    const first = openServiceDb(file);
    expect(first.applied).toEqual([
      '001_execution_tasks.sql',
      '002_ai_model.sql',
      '003_task_queue.sql',
      '004_offers.sql',
      '005_task_regions.sql',
    ]);
    createTaskStore(first.db).insertWithModel(newTask('t1'), 'model-a');
    const schemaBefore = first.db.prepare('SELECT name, sql FROM sqlite_master ORDER BY name').all();
    const recorded = first.db.prepare(`SELECT name FROM ${serviceMigrationsTable}`).pluck().all();
    expect(recorded).toHaveLength(5);
    first.db.close();

    const second = openServiceDb(file);
    expect(second.applied).toEqual([]);
    expect(second.db.prepare('SELECT name, sql FROM sqlite_master ORDER BY name').all()).toEqual(
      schemaBefore,
    );
    expect(createTaskStore(second.db).getWithModel('t1')?.aiModel).toBe('model-a');
    second.db.close();
  });

  it('adds ai_model as a nullable column and leaves rows written before it intact', () => {
    const file = path.join(tempDir(), 'service.db');
    const old = baselineDb(file);
    expect(columnsOf(old).some((c) => c.startsWith('ai_model'))).toBe(false);
    const oldStore = createTaskStore(old);
    expect(oldStore.supportsAiModel()).toBe(false);
    oldStore.insert(newTask('before'));
    old.close();

    const { db, applied } = openServiceDb(file);
    expect(applied).toContain('002_ai_model.sql');
    expect(columnsOf(db)).toContain('ai_model:0');
    const store = createTaskStore(db);
    expect(store.get('before')).toMatchObject({ id: 'before', tenantId: 'acme', input: { idea: 'before' } });
    expect(store.getWithModel('before')?.aiModel).toBeNull();
    db.close();
  });

  it('keeps the old code path working while the migration runs underneath it', () => {
    const file = path.join(tempDir(), 'service.db');
    const db = baselineDb(file);
    // The old code's store is created before the column exists, as a running process would have it.
    const store = createTaskStore(db);
    store.insert(newTask('a'));
    migrate(db, serviceMigrationsDir, serviceMigrationsTable);
    store.insert(newTask('b'));
    expect(store.get('a')).not.toHaveProperty('aiModel');
    expect(store.get('b')?.status).toBe('running');
    expect(store.complete('b', { ok: true }, 1, 2_000)).toBe(true);
    // The same process notices the column once it exists, without a restart.
    expect(store.supportsAiModel()).toBe(true);
    store.insertWithModel(newTask('c'), 'model-b');
    expect(store.getWithModel('c')?.aiModel).toBe('model-b');
    expect(db.prepare('SELECT ai_model FROM execution_tasks WHERE id = ?').pluck().get('b')).toBeNull();
    db.close();
  });

  it('never names ai_model on the old path: its rows and reads are the same with or without the column', () => {
    const { db } = openServiceDb(path.join(tempDir(), 'service.db'));
    const store = createTaskStore(db);
    store.insertWithModel(newTask('new', { tenantId: 'globex' }), 'model-a');
    store.insert(newTask('old'));
    const old = store.get('new');
    expect(old).toBeDefined();
    expect(old).not.toHaveProperty('aiModel');
    expect(store.getWithModel('new')?.aiModel).toBe('model-a');
    expect(store.getWithModel('old')?.aiModel).toBeNull();
    db.close();
  });

  it('counts a task once however many times its completion is written', () => {
    const { db } = openServiceDb(path.join(tempDir(), 'service.db'));
    const store = createTaskStore(db);
    store.insert(newTask('t', { mode: 'queued', status: 'queued' }));
    expect(store.complete('t', { n: 1 }, 1, 10)).toBe(true);
    expect(store.complete('t', { n: 2 }, 2, 20)).toBe(false);
    expect(store.finishFailed('t', 'dead', 'late failure', 3, 30)).toBe(false);
    expect(store.get('t')).toMatchObject({ status: 'done', result: { n: 1 }, attempts: 1, finishedAt: 10 });
    expect(store.usage('acme')).toBe(1);
    db.close();
  });

  it('fails inline tasks a crash left running, and leaves finished and queued ones alone', () => {
    const { db } = openServiceDb(path.join(tempDir(), 'service.db'));
    const store = createTaskStore(db);
    store.insert(newTask('cut-off'));
    store.insert(newTask('finished'));
    store.complete('finished', { n: 1 }, 1, 10);
    store.insert(newTask('waiting', { mode: 'queued', status: 'queued' }));
    expect(store.failInterrupted(50)).toBe(1);
    expect(store.get('cut-off')).toMatchObject({ status: 'failed', finishedAt: 50 });
    expect(store.get('cut-off')?.error).toMatch(/^interrupted/);
    expect(store.get('finished')?.status).toBe('done');
    expect(store.get('waiting')?.status).toBe('queued');
    expect(store.failInterrupted(60)).toBe(0);
    db.close();
  });
});
