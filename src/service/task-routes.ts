// Task endpoints: the schema change (ai_model) and the queueing change (inline or enqueued), each behind its flag.
import { Hono } from 'hono';
import { z } from 'zod';
import { type Clock, isoOrNull } from '../clock.ts';
import { jsonBody } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type FlagClient, serviceFlags } from './flag-client.ts';
import { regionOf, type SegmentBy, segmentFor } from './segment.ts';
import type { Outcome } from './signal-aggregate.ts';
import { planWork, type WorkKnobs } from './simulate.ts';
import type { TaskQueue } from './task-queue.ts';
import { type NewTask, type Task, type TaskStore, taskTypes } from './task-store.ts';
import { sleep } from './workers.ts';

const id = z.string().trim().min(1).max(200);

export const createTaskBody = z.strictObject({
  tenantId: id,
  userId: id,
  type: z.enum(taskTypes),
  input: z.json().optional(),
  /** Which model runs the task; recorded only where schema.ai-model is on. */
  aiModel: z.string().trim().min(1).max(100).optional(),
});

export interface TaskRouteDeps {
  tasks: TaskStore;
  queue: TaskQueue;
  /** Called after a task is enqueued, so workers in this process pick it up without waiting for a poll. */
  enqueued?: () => void;
  flags: Pick<FlagClient, 'isEnabled'>;
  record: (outcome: Outcome) => void;
  knobs: () => WorkKnobs;
  clock: Clock;
  log: Logger;
  newId: () => string;
  aiModel: string;
  /** The context field outcomes are reported by (a segment per value); the region unless told otherwise. */
  segmentBy?: SegmentBy;
}

export function taskView(t: Task) {
  return {
    id: t.id,
    tenantId: t.tenantId,
    userId: t.userId,
    type: t.type,
    input: t.input,
    mode: t.mode,
    status: t.status,
    result: t.result,
    error: t.error,
    attempts: t.attempts,
    createdAt: isoOrNull(t.createdAt),
    finishedAt: isoOrNull(t.finishedAt),
    ...(t.aiModel === undefined ? {} : { aiModel: t.aiModel }),
  };
}

export function createTaskRoutes(deps: TaskRouteDeps) {
  const { tasks, queue, flags, record, clock, log } = deps;
  const segmentBy = deps.segmentBy ?? 'region';
  const app = new Hono();
  let warnedMissingColumn = false;

  /**
   * A queue that cannot take the task (Redis away) fails it at once and answers 503: the caller may retry
   * with a new task, and this one is never run behind its back when the queue comes back.
   */
  const enqueue = async (taskId: string) => {
    try {
      await queue.enqueue(taskId);
    } catch (err) {
      log.error('enqueueing a task failed; the task is marked failed', { taskId, err });
      tasks.finishFailed(taskId, 'failed', 'the task queue was unavailable', 0, clock());
      throw new AppError('UNAVAILABLE', 'the task queue is unavailable; try again');
    }
  };

  /** Is the ai_model path on for this tenant, and can it run? Without the column the old path is the safe one. */
  const modelPath = (ctx: { userId: string; tenantId: string }) => {
    const on = flags.isEnabled(serviceFlags.schema, ctx);
    if (on && !tasks.supportsAiModel()) {
      if (!warnedMissingColumn) log.warn('schema.ai-model is on but execution_tasks has no ai_model column');
      warnedMissingColumn = true;
      return { arm: 'treatment', use: false };
    }
    return { arm: on ? 'treatment' : 'control', use: on };
  };

  /** One schema.ai-model request outcome per task call, with the tenant as the unit its stickiness uses. */
  const recordSchema = (
    arm: string,
    ctx: { tenantId: string; region?: string | undefined },
    startedAt: number,
    error: boolean,
  ) =>
    record({
      flag: serviceFlags.schema,
      arm,
      segment: segmentFor(segmentBy, ctx),
      unit: ctx.tenantId,
      request: true,
      error,
      latencyMs: clock() - startedAt,
    });

  app.post('/tasks', async (c) => {
    const body = await jsonBody(c, createTaskBody);
    const startedAt = clock();
    const region = regionOf(c);
    const ctx = { userId: body.userId, tenantId: body.tenantId, region };
    const schema = modelPath(ctx);
    const queued = flags.isEnabled(serviceFlags.queue, ctx);
    const task: NewTask = {
      id: deps.newId(),
      tenantId: body.tenantId,
      userId: body.userId,
      type: body.type,
      input: body.input ?? {},
      mode: queued ? 'queued' : 'inline',
      status: queued ? 'queued' : 'running',
      createdAt: startedAt,
    };
    try {
      if (schema.use) tasks.insertWithModel(task, body.aiModel ?? deps.aiModel);
      else tasks.insert(task);
      // Before the enqueue: the worker that runs it reports its outcome under this region.
      if (region !== undefined) tasks.setRegion(task.id, region);
      // A crash between these two is repaired at start: queued tasks without a queue entry are enqueued again.
      if (queued) await enqueue(task.id);
    } catch (err) {
      recordSchema(schema.arm, ctx, startedAt, true);
      throw err;
    }
    if (queued) {
      deps.enqueued?.();
      recordSchema(schema.arm, ctx, startedAt, false);
      const stored = schema.use ? tasks.getWithModel(task.id) : tasks.get(task.id);
      if (!stored) throw new AppError('INTERNAL', `task ${task.id} vanished after insert`);
      return c.json({ task: taskView(stored) }, 202, { Location: `${c.req.path}/${task.id}` });
    }

    // The old path: the request waits while the task runs, and a failure is final.
    const plan = planWork(deps.knobs(), { ...task, region }, 1, 'inline');
    await sleep(plan.durationMs);
    if (plan.error === null) tasks.complete(task.id, plan.result, 1, clock());
    else tasks.finishFailed(task.id, 'failed', plan.error, 1, clock());
    record({
      flag: serviceFlags.queue,
      arm: 'control',
      segment: segmentFor(segmentBy, ctx),
      unit: task.userId,
      request: true,
      error: plan.error !== null,
      latencyMs: clock() - task.createdAt,
    });
    // A task that fails on the way it was recorded counts against that arm too: task failures are this guardrail.
    recordSchema(schema.arm, ctx, startedAt, plan.error !== null);
    const stored = schema.use ? tasks.getWithModel(task.id) : tasks.get(task.id);
    if (!stored) throw new AppError('INTERNAL', `task ${task.id} vanished after insert`);
    return c.json({ task: taskView(stored) }, 201);
  });

  app.get('/tasks/:id', (c) => {
    const startedAt = clock();
    const found = tasks.get(c.req.param('id'));
    if (!found) throw new AppError('NOT_FOUND', `no task with id "${c.req.param('id')}"`);
    // A read is segmented by the reader's region, as its flag context is.
    const ctx = { userId: found.userId, tenantId: found.tenantId, region: regionOf(c) };
    const schema = modelPath(ctx);
    let task: Task | undefined = found;
    try {
      if (schema.use) task = tasks.getWithModel(found.id);
    } catch (err) {
      recordSchema(schema.arm, ctx, startedAt, true);
      throw err;
    }
    recordSchema(schema.arm, ctx, startedAt, false);
    return c.json({ task: taskView(task ?? found) });
  });

  return app;
}
