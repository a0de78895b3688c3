// SQL for execution tasks: the old statements that never name ai_model, the new ones that do, and idempotent outcomes.
import type { Db } from '../db/open.ts';

export const taskTypes = ['ideas-implementation', 'self-improvement'] as const;
export type TaskType = (typeof taskTypes)[number];
export type TaskMode = 'inline' | 'queued';
export type TaskStatus = 'queued' | 'running' | 'done' | 'failed' | 'dead';

export interface NewTask {
  id: string;
  tenantId: string;
  userId: string;
  type: TaskType;
  input: unknown;
  mode: TaskMode;
  status: TaskStatus;
  createdAt: number;
}

export interface Task extends NewTask {
  result: unknown;
  error: string | null;
  attempts: number;
  finishedAt: number | null;
  /** Present only when read through the ai_model path; null when the task was written without it. */
  aiModel?: string | null;
  /** The region it was created from (task_regions), where a worker needs it; never read by the routes. */
  region?: string | undefined;
}

interface Row {
  id: string;
  tenant_id: string;
  user_id: string;
  type: TaskType;
  input: string;
  mode: TaskMode;
  status: TaskStatus;
  result: string | null;
  error: string | null;
  attempts: number;
  created_at: number;
  finished_at: number | null;
  ai_model?: string | null;
}

const toTask = (r: Row): Task => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  type: r.type,
  input: JSON.parse(r.input),
  mode: r.mode,
  status: r.status,
  result: r.result === null ? null : JSON.parse(r.result),
  error: r.error,
  attempts: r.attempts,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  ...('ai_model' in r ? { aiModel: r.ai_model ?? null } : {}),
});

// The old path lists its columns so it reads the same whatever columns a later migration adds.
const oldColumns =
  'id, tenant_id, user_id, type, input, mode, status, result, error, attempts, created_at, finished_at';

const params = (t: NewTask) => ({ ...t, input: JSON.stringify(t.input ?? null) });

export type TaskStore = ReturnType<typeof createTaskStore>;

export function createTaskStore(db: Db) {
  const insertOld = db.prepare(
    `INSERT INTO execution_tasks (id, tenant_id, user_id, type, input, mode, status, created_at)
     VALUES (@id, @tenantId, @userId, @type, @input, @mode, @status, @createdAt)`,
  );
  const getOld = db.prepare<[string], Row>(`SELECT ${oldColumns} FROM execution_tasks WHERE id = ?`);
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(execution_tasks)');
  // Only prepared once the column exists: preparing a statement that names a missing column throws.
  let withModel: { insert: ReturnType<Db['prepare']>; get: ReturnType<Db['prepare']> } | undefined;
  const modelStatements = () => {
    if (!withModel && columns.all().some((c) => c.name === 'ai_model')) {
      withModel = {
        insert: db.prepare(
          `INSERT INTO execution_tasks (id, tenant_id, user_id, type, input, mode, status, created_at, ai_model)
           VALUES (@id, @tenantId, @userId, @type, @input, @mode, @status, @createdAt, @aiModel)`,
        ),
        get: db.prepare(`SELECT ${oldColumns}, ai_model FROM execution_tasks WHERE id = ?`),
      };
    }
    return withModel;
  };

  const finishDone = db.prepare(
    `UPDATE execution_tasks SET status = 'done', result = @result, error = NULL, attempts = @attempts,
       finished_at = @at WHERE id = @id AND status NOT IN ('done', 'dead')`,
  );
  const finishFailed = db.prepare(
    `UPDATE execution_tasks SET status = @status, error = @error, attempts = @attempts, finished_at = @at
     WHERE id = @id AND status NOT IN ('done', 'dead')`,
  );
  const noteAttempt = db.prepare(
    `UPDATE execution_tasks SET error = @error, attempts = @attempts WHERE id = @id AND status NOT IN ('done', 'dead')`,
  );
  const bumpUsage = db.prepare(
    `INSERT INTO tenant_usage (tenant_id, tasks_done) VALUES (?, 1)
     ON CONFLICT (tenant_id) DO UPDATE SET tasks_done = tasks_done + 1`,
  );
  const interrupted = db.prepare(
    `UPDATE execution_tasks SET status = 'failed', error = 'interrupted: the process stopped while it ran inline',
       finished_at = ? WHERE mode = 'inline' AND status = 'running'`,
  );
  const queued = db
    .prepare<[], string>(`SELECT id FROM execution_tasks WHERE mode = 'queued' AND status = 'queued'`)
    .pluck();
  // Prepared on first use: a database without the 005 migration (tests of the schema change) never needs them.
  let regions: ReturnType<typeof prepareRegions> | undefined;
  const prepareRegions = () => ({
    set: db.prepare<[string, string]>('INSERT OR REPLACE INTO task_regions (task_id, region) VALUES (?, ?)'),
    get: db.prepare<[string], string>('SELECT region FROM task_regions WHERE task_id = ?').pluck(),
  });
  const regionStatements = () => {
    regions ??= prepareRegions();
    return regions;
  };
  const usage = db.prepare<[string], { tasks_done: number }>(
    'SELECT tasks_done FROM tenant_usage WHERE tenant_id = ?',
  );

  // The result and the usage it bills are written together, and only by the first attempt to finish.
  const complete = db.transaction((id: string, result: unknown, attempts: number, at: number): boolean => {
    const changed =
      finishDone.run({ id, result: JSON.stringify(result ?? null), attempts, at }).changes === 1;
    if (!changed) return false;
    const row = getOld.get(id);
    if (row) bumpUsage.run(row.tenant_id);
    return true;
  });

  return {
    /** Whether the expand migration has run; re-checked until it has, since the column never goes away. */
    supportsAiModel(): boolean {
      return modelStatements() !== undefined;
    },
    insert(task: NewTask): void {
      insertOld.run(params(task));
    },
    /** The new path; the caller checks `supportsAiModel()` first. */
    insertWithModel(task: NewTask, aiModel: string): void {
      const s = modelStatements();
      if (!s) throw new Error('execution_tasks has no ai_model column; run the service migrations');
      s.insert.run({ ...params(task), aiModel });
    },
    get(id: string): Task | undefined {
      const row = getOld.get(id);
      return row && toTask(row);
    },
    getWithModel(id: string): Task | undefined {
      const s = modelStatements();
      if (!s) throw new Error('execution_tasks has no ai_model column; run the service migrations');
      const row = s.get.get(id) as Row | undefined;
      return row && toTask(row);
    },
    /** Marks the task done and bills it; false when an earlier attempt already finished it (a redelivery). */
    complete(id: string, result: unknown, attempts: number, at: number): boolean {
      return complete(id, result, attempts, at);
    },
    /** Records a final failure; never overwrites a task that is already done. */
    finishFailed(
      id: string,
      status: 'failed' | 'dead',
      error: string,
      attempts: number,
      at: number,
    ): boolean {
      return finishFailed.run({ id, status, error, attempts, at }).changes === 1;
    },
    /** Records a failed attempt that will be retried. */
    noteFailedAttempt(id: string, error: string, attempts: number): void {
      noteAttempt.run({ id, error, attempts });
    },
    /**
     * At start, inline tasks still marked running were cut off by a crash mid-request: their caller got no
     * answer, and the old path never retries, so they are failed rather than left running for ever.
     */
    failInterrupted(at: number): number {
      return interrupted.run(at).changes;
    },
    /** Tasks waiting for a worker: at start each is enqueued again (idempotently) so none is stranded. */
    queuedIds(): string[] {
      return queued.all();
    },
    /** Records the region a task came from (its caller's X-Region). */
    setRegion(id: string, region: string): void {
      regionStatements().set.run(id, region);
    },
    regionOf(id: string): string | undefined {
      return regionStatements().get.get(id);
    },
    usage(tenantId: string): number {
      return usage.get(tenantId)?.tasks_done ?? 0;
    },
  };
}
