// The service on the Redis queue through real HTTP: the setting, tasks processed through BullMQ, and Redis away.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { standaloneOptions } from '../../src/main.ts';
import { dropPrefix, findTestRedis, testPrefix } from '../helpers/queue-backends.ts';
import { type Harness, settled, useHarnesses } from './harness.ts';

const start = useHarnesses();
const redis = await findTestRedis();
const prefixes: string[] = [];
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await dropPrefix(redis.url, prefix);
});

const task = (userId: string, n = 0) => ({
  tenantId: 'acme',
  userId,
  type: 'self-improvement',
  input: { n },
});

/** Users the SDK serves the queued path to. */
const queuedUsers = (h: Harness, n: number) =>
  Array.from({ length: 500 }, (_, i) => `user-${i}`)
    .filter((userId) => h.service.flags.isEnabled('queue.async-tasks', { userId, tenantId: 'acme' }))
    .slice(0, n);

describe('ROLLGATE_SERVICE_QUEUE_URL', () => {
  it('takes a redis:// or rediss:// URL into config.service and refuses anything else, naming the setting', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://user:secret@cache.example.test:6380/2']) {
      const r = parseConfig({ ROLLGATE_SERVICE_QUEUE_URL: url });
      expect(r.ok && r.config.service.queueUrl).toBe(url);
    }
    const only = parseConfig({
      ROLLGATE_SERVICE: 'only',
      ROLLGATE_SERVICE_QUEUE_URL: 'redis://127.0.0.1:6379/3',
    });
    if (!only.ok) throw new Error(only.problems.join('; '));
    expect(standaloneOptions(only.config).queueUrl).toBe('redis://127.0.0.1:6379/3');
    const unset = parseConfig({});
    expect(unset.ok && unset.config.service.queueUrl).toBeUndefined();
    for (const bad of ['http://127.0.0.1:6379', 'not a url']) {
      const r = parseConfig({ ROLLGATE_SERVICE_QUEUE_URL: bad });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.problems).toEqual(['ROLLGATE_SERVICE_QUEUE_URL: must be a redis:// or rediss:// URL']);
    }
  });
});

describe('the service with its queue on a Redis that does not answer', () => {
  it('answers 503 for a queued task, marks that task failed, and reports the queue degraded', async () => {
    // Port 1 refuses connections: enqueue gives up after its retries instead of hanging the request.
    const h = await start({ queueUrl: 'redis://127.0.0.1:1', workers: { enabled: false } });
    await h.toFull('queue.async-tasks');
    const [userId] = queuedUsers(h, 1);
    if (!userId) throw new Error('no user in the rollout');
    const res = await h.call('POST', '/service/tasks', task(userId));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the task queue is unavailable; try again',
    });
    const health = await h.call('GET', '/service/health');
    expect(health.body).toMatchObject({ status: 'degraded', queue: { backend: 'redis' } });
    expect(health.body.queue.error).toEqual(expect.any(String));
    const usage = h.service.tasks.usage('acme');
    expect(usage).toBe(0);
    expect(h.service.tasks.queuedIds()).toEqual([]);
  });
});

describe.skipIf(!redis.reachable && !redis.required)('the service with its queue on Redis', () => {
  it('enqueues through BullMQ, and its workers process each task once', async () => {
    const queuePrefix = testPrefix();
    prefixes.push(queuePrefix);
    const h = await start({ queueUrl: redis.url, queuePrefix });
    await h.toFull('queue.async-tasks');
    const users = queuedUsers(h, 5);
    expect(users).toHaveLength(5);
    const ids: string[] = [];
    for (const [n, userId] of users.entries()) {
      const res = await h.call('POST', '/service/tasks', task(userId, n));
      expect(res.status).toBe(202);
      expect(res.body.task).toMatchObject({ mode: 'queued', status: 'queued' });
      ids.push(res.body.task.id);
    }
    for (const id of ids) {
      const done = await settled(h, id);
      expect(done.body.task).toMatchObject({ mode: 'queued', status: 'done', attempts: 1, error: null });
    }
    expect(h.service.tasks.usage('acme')).toBe(ids.length);
    const health = await h.call('GET', '/service/health');
    expect(health.body).toMatchObject({
      status: 'ok',
      queue: { backend: 'redis', ready: 0, leased: 0, done: ids.length, dead: 0, oldestWaitingAt: null },
    });
  });
});
