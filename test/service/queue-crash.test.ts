import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openServiceDb } from '../../src/service/service-db.ts';
import { createTaskStore } from '../../src/service/task-store.ts';
import { type QueueUnderTest, queueBackends } from '../helpers/queue-backends.ts';
import { tempDir } from '../helpers/rollgate.ts';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'test/helpers/queue-worker-child.ts');
const tenants = ['acme', 'globex', 'initech', 'umbrella'];

const backends = await queueBackends({ announce: false });
const leaseMs = 1_000;

function startWorker(
  dbFile: string,
  queueEnv: Record<string, string>,
  onLine: (line: string, child: ChildProcess) => void,
) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: {
      ...process.env,
      ...queueEnv,
      SERVICE_DB: dbFile,
      WORK_MS: '100',
      CONCURRENCY: '4',
      LEASE_MS: String(leaseMs),
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
const open: QueueUnderTest[] = [];
const killGroup = (child: ChildProcess) => {
  if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
};
afterEach(async () => {
  for (const child of running.splice(0)) {
    try {
      killGroup(child);
    } catch {
      // already gone
    }
  }
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe.each(backends)('durable $name queue across kill -9', (backend) => {
  it('processes every task exactly once in effect when its worker process is killed mid-batch', async () => {
    const h = await backend.start({ leaseMs }, { realClock: true });
    open.push(h);
    const { queue } = h;
    // The tasks live in the service database: the SQLite queue's own, or one beside the Redis queue.
    const dbFile = h.dbFile ?? path.join(tempDir(), 'service.db');
    const setup = openServiceDb(dbFile);
    const tasks = createTaskStore(setup.db);
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
    const first = startWorker(dbFile, h.env, (line, child) => {
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
    const second = startWorker(dbFile, h.env, () => {});
    const finish = await second.exited;
    expect(finish.code, finish.stderr).toBe(0);

    const { db } = openServiceDb(dbFile);
    const after = createTaskStore(db);
    for (const id of ids) expect(after.get(id), id).toMatchObject({ status: 'done', error: null });
    for (const [t, tenant] of tenants.entries()) {
      expect(after.usage(tenant)).toBe(ids.filter((_, i) => i % tenants.length === t).length);
    }
    // The task the kill interrupted was delivered once more, and ran to its one effect the second time.
    expect(await h.deliveries(killedDuring as string)).toBe(2);
    expect(await h.open().stats()).toMatchObject({
      ready: 0,
      leased: 0,
      done: ids.length,
      dead: 0,
    });
    db.close();
  });
});
