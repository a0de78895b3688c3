import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openServiceDb } from '../../src/service/service-db.ts';
import { createSqliteQueue } from '../../src/service/sqlite-queue.ts';
import { createTaskStore } from '../../src/service/task-store.ts';
import { tempDir } from '../helpers/rollgate.ts';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'test/helpers/queue-worker-child.ts');
const tenants = ['acme', 'globex', 'initech', 'umbrella'];

function startWorker(dbFile: string, onLine: (line: string, child: ChildProcess) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: {
      ...process.env,
      SERVICE_DB: dbFile,
      WORK_MS: '100',
      CONCURRENCY: '4',
      LEASE_MS: '1000',
      POLL_MS: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, killed whole: nothing of the worker outlives the SIGKILL.
    detached: true,
  });
  running.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  readline
    .createInterface({ input: child.stdout as NodeJS.ReadableStream })
    .on('line', (l) => onLine(l, child));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

const running: ChildProcess[] = [];
const killGroup = (child: ChildProcess) => {
  if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
};
afterEach(() => {
  for (const child of running.splice(0)) {
    try {
      killGroup(child);
    } catch {
      // already gone
    }
  }
});

describe('durable queue across kill -9', () => {
  it('processes every task exactly once in effect when its worker process is killed mid-batch', async () => {
    const dbFile = path.join(tempDir(), 'service.db');
    const setup = openServiceDb(dbFile);
    const tasks = createTaskStore(setup.db);
    const queue = createSqliteQueue({ db: setup.db, clock: Date.now });
    const ids = Array.from({ length: 40 }, (_, i) => `task-${i}`);
    for (const [i, id] of ids.entries()) {
      tasks.insert({
        id,
        tenantId: tenants[i % tenants.length] as string,
        userId: `user-${i}`,
        type: i % 2 ? 'ideas-implementation' : 'self-improvement',
        input: { n: i },
        mode: 'queued',
        status: 'queued',
        createdAt: Date.now(),
      });
      await queue.enqueue(id);
    }
    setup.db.close();

    // First run: killed with SIGKILL the moment it starts a task after eight have finished.
    const done = new Set<string>();
    let killedDuring: string | undefined;
    const first = startWorker(dbFile, (line, child) => {
      const [event, id] = line.split(' ');
      if (event === 'done' && id) done.add(id);
      if (event === 'start' && id && done.size >= 8 && !killedDuring) {
        killedDuring = id;
        killGroup(child);
      }
    });
    const crash = await first.exited;
    expect(crash.signal, crash.stderr).toBe('SIGKILL');
    expect(killedDuring).toBeDefined();
    expect(done.size).toBeLessThan(ids.length);

    // Second run: picks up the rest, including tasks whose leases died with the first process.
    const second = startWorker(dbFile, () => {});
    const finish = await second.exited;
    expect(finish.code, finish.stderr).toBe(0);

    const { db } = openServiceDb(dbFile);
    const after = createTaskStore(db);
    for (const id of ids) expect(after.get(id), id).toMatchObject({ status: 'done', error: null });
    for (const [t, tenant] of tenants.entries()) {
      expect(after.usage(tenant)).toBe(ids.filter((_, i) => i % tenants.length === t).length);
    }
    const deliveries = db
      .prepare('SELECT attempts FROM task_queue WHERE task_id = ?')
      .pluck()
      .get(killedDuring) as number;
    expect(deliveries).toBe(2);
    expect(await createSqliteQueue({ db, clock: Date.now }).stats()).toMatchObject({
      ready: 0,
      leased: 0,
      done: ids.length,
      dead: 0,
    });
    db.close();
  });
});
