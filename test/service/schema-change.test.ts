// The schema change through HTTP with the real SDK: ai_model written and read only where the flag is on.
import { describe, expect, it } from 'vitest';
import { type Harness, signalTotals, useHarnesses } from './harness.ts';

const start = useHarnesses();

const storedModel = (h: Harness, id: string) =>
  h.service.db.prepare('SELECT ai_model FROM execution_tasks WHERE id = ?').pluck().get(id);

const newTask = (tenantId: string, userId = 'u1', aiModel?: string) => ({
  tenantId,
  userId,
  type: 'ideas-implementation',
  input: { idea: `${tenantId}/${userId}` },
  ...(aiModel ? { aiModel } : {}),
});

describe('schema change (schema.ai-model) through the real SDK', () => {
  it('with the flag off, runs the old code path: the task neither writes nor returns ai_model', async () => {
    const h = await start();
    const created = await h.call('POST', '/service/tasks', newTask('acme', 'u1', 'model-x'));
    expect(created.status).toBe(201);
    expect(created.body.task).toMatchObject({ tenantId: 'acme', status: 'done', mode: 'inline' });
    expect(created.body.task).not.toHaveProperty('aiModel');
    const read = await h.call('GET', `/service/tasks/${created.body.task.id}`);
    expect(read.body.task).not.toHaveProperty('aiModel');
    expect(storedModel(h, created.body.task.id)).toBeNull();
  });

  it('with the flag on, records ai_model and returns it; rolled back, the task stays readable and keeps it', async () => {
    const h = await start();
    await h.toFull('schema.ai-model');
    const named = await h.call('POST', '/service/tasks', newTask('acme', 'u1', 'model-x'));
    expect(named.status).toBe(201);
    expect(named.body.task).toMatchObject({ status: 'done', aiModel: 'model-x' });
    const defaulted = await h.call('POST', '/service/tasks', newTask('globex'));
    expect(defaulted.body.task.aiModel).toBe('tasks-llm-v1');
    const id = named.body.task.id;
    expect((await h.call('GET', `/service/tasks/${id}`)).body.task.aiModel).toBe('model-x');

    await h.admin('schema.ai-model', 'rollout/rollback', { reason: 'test rollback' });
    const afterRollback = await h.call('GET', `/service/tasks/${id}`);
    expect(afterRollback.status).toBe(200);
    const { aiModel: _, ...withoutModel } = named.body.task;
    expect(afterRollback.body.task).toEqual(withoutModel);
    expect(storedModel(h, id)).toBe('model-x');
    const meanwhile = await h.call('POST', '/service/tasks', newTask('acme', 'u2', 'model-y'));
    expect(storedModel(h, meanwhile.body.task.id)).toBeNull();

    // Rolled forward again, nothing was lost: the old task still has its model, the one written meanwhile has none.
    await h.toFull('schema.ai-model');
    expect((await h.call('GET', `/service/tasks/${id}`)).body.task.aiModel).toBe('model-x');
    expect((await h.call('GET', `/service/tasks/${meanwhile.body.task.id}`)).body.task.aiModel).toBeNull();
  });

  it('takes the same path for every task of a tenant, whichever user creates it', async () => {
    const h = await start();
    await h.admin('schema.ai-model', 'rollout/start');
    await h.admin('schema.ai-model', 'rollout/promote');
    const byTenant = new Map<string, boolean[]>();
    for (let t = 0; t < 30; t++) {
      for (const user of ['alice', 'bob', 'carol']) {
        const res = await h.call('POST', '/service/tasks', newTask(`tenant-${t}`, user, 'model-x'));
        const paths = byTenant.get(`tenant-${t}`) ?? [];
        paths.push('aiModel' in res.body.task);
        byTenant.set(`tenant-${t}`, paths);
      }
    }
    for (const paths of byTenant.values()) expect(new Set(paths).size).toBe(1);
    const onTenants = [...byTenant.values()].filter((p) => p[0]).length;
    expect(onTenants).toBeGreaterThan(0);
    expect(onTenants).toBeLessThan(30);
  });

  it('reports task calls per arm to Rollgate, which stores them as the flag health series', async () => {
    const h = await start();
    await h.call('POST', '/service/tasks', newTask('acme'));
    await h.toFull('schema.ai-model');
    const created = await h.call('POST', '/service/tasks', newTask('acme'));
    await h.call('GET', `/service/tasks/${created.body.task.id}`);
    const sum = await signalTotals(h, 'schema.ai-model');
    expect(h.service.reporter.stats()).toMatchObject({ pending: 0, rejected: 0, lastError: null });
    expect(sum('control', 'requests')).toBe(1);
    expect(sum('treatment', 'requests')).toBe(2);
  });

  it('rejects an invalid task with the field and the reason', async () => {
    const h = await start();
    const res = await h.call('POST', '/service/tasks', {
      tenantId: 'acme',
      userId: 'u1',
      type: 'world-domination',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(res.body.error.details.issues[0].path).toBe('type');
    const missing = await h.call('GET', '/service/tasks/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });
});
