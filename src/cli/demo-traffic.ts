// Seeded simulated users for the demo: they create tasks, read them back, look at offers and sometimes buy.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { seededRandom } from '../random.ts';
export interface TrafficOptions {
  baseUrl: string;
  seed: number;
  users: number;
  /** Parallel request loops: enough that slow responses never hold arrivals back. */
  concurrency: number;
  /**
   * Arrivals per second across all loops, fixed whatever the responses take (an open loop). Users do not come
   * faster because a queued task answers 202 at once; a closed loop would, and would push the server into
   * saturation as the queue rollout grows, where scheduling delay swamps the latencies being compared.
   */
  ratePerSecond: number;
  /** Purchase probability at today's price; other prices scale it with an elasticity of 1.5. */
  baseConversion: number;
  /**
   * Share of users per region (sent as X-Region, so the service reports per region and a plan guardrail
   * `by: region` judges each): uneven on purpose, a small region's regression is what a total hides.
   */
  regions?: Record<string, number>;
}

/** The demo's regions: most users in us, a third as many in eu, few in ap. */
export const demoRegions: Record<string, number> = { us: 0.6, eu: 0.3, ap: 0.1 };

/**
 * A user's region, fixed for the user (a multiplicative hash of its number, not the seed: the same user is in
 * the same region in every run), drawn with the given shares.
 */
export function regionOfUser(user: number, shares: Record<string, number>): string | undefined {
  const entries = Object.entries(shares).filter(([, share]) => share > 0);
  const total = entries.reduce((sum, [, share]) => sum + share, 0);
  if (!total) return undefined;
  const u = ((Math.imul(user + 1, 2654435761) >>> 0) / 2 ** 32) * total;
  let cumulative = 0;
  for (const [region, share] of entries) {
    cumulative += share;
    if (u < cumulative) return region;
  }
  return entries[entries.length - 1]?.[0];
}

export interface TrafficStats {
  requests: number;
  failures: number;
  tasksInline: number;
  tasksQueued: number;
  offers: number;
  purchases: number;
  transportErrors: number;
}

const emptyStats = (): TrafficStats => ({
  requests: 0,
  failures: 0,
  tasksInline: 0,
  tasksQueued: 0,
  offers: 0,
  purchases: 0,
  transportErrors: 0,
});

/** Runs request loops until `stop()`; every choice comes from the seed, so runs are comparable. */
export function startTraffic(o: TrafficOptions) {
  const stats = emptyStats();
  let running = true;
  const taskIds: string[] = [];

  const regions = o.regions ?? demoRegions;
  const call = async (method: string, url: string, region: string | undefined, body?: unknown) => {
    stats.requests++;
    try {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (region !== undefined) headers['x-region'] = region;
      const res = await fetch(`${o.baseUrl}${url}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 500) stats.failures++;
      return { status: res.status, json };
    } catch {
      stats.transportErrors++;
      return { status: 0, json: {} as Record<string, unknown> };
    }
  };

  async function loop(worker: number) {
    const random = seededRandom(o.seed * 1000 + worker);
    const meanGapMs = (1000 * o.concurrency) / o.ratePerSecond;
    let nextAt = performance.now();
    while (running) {
      // Poisson arrivals; a loop that fell behind goes at once but does not burst to catch up.
      nextAt = Math.max(nextAt, performance.now() - meanGapMs) - meanGapMs * Math.log(1 - random());
      const wait = nextAt - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!running) break;
      const user = Math.floor(random() * o.users);
      const userId = `user-${user}`;
      const tenantId = `tenant-${Math.floor(user / 2)}`;
      const region = regionOfUser(user, regions);
      const roll = random();
      if (roll < 0.7) {
        const type = random() < 0.5 ? 'ideas-implementation' : 'self-improvement';
        const r = await call('POST', '/service/tasks', region, {
          tenantId,
          userId,
          type,
          input: { n: Math.floor(random() * 1e6) },
        });
        const task = r.json.task as { id: string; mode: string } | undefined;
        if (task) {
          if (task.mode === 'queued') stats.tasksQueued++;
          else stats.tasksInline++;
          if (taskIds.length < 5000) taskIds.push(task.id);
        }
      } else if (roll < 0.75 && taskIds.length) {
        await call('GET', `/service/tasks/${taskIds[Math.floor(random() * taskIds.length)]}`, region);
      } else {
        const r = await call('GET', `/service/offers?userId=${userId}`, region);
        const offer = r.json.offer as { id: string; price: number } | undefined;
        if (!offer) continue;
        stats.offers++;
        const p = o.baseConversion * (19 / offer.price) ** 1.5;
        if (random() < p) {
          const bought = await call('POST', `/service/offers/${offer.id}/purchase`, region, {});
          if (bought.status === 201) stats.purchases++;
        }
      }
    }
  }

  const loops = Array.from({ length: o.concurrency }, (_, i) => loop(i));
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Runs the traffic in a worker thread, so the users do not compete with the server for one event loop. */
export function startTrafficThread(o: TrafficOptions) {
  // Workers do not inherit tsx's loader on Node 20: register it inside the worker before loading this file.
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: o });
  const stats = emptyStats();
  worker.on('message', (m: TrafficStats) => Object.assign(stats, m));
  return {
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      }),
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const traffic = startTraffic(workerData as TrafficOptions);
  const report = setInterval(() => port.postMessage(traffic.stats), 250);
  port.on('message', async () => {
    await traffic.stop();
    clearInterval(report);
    port.postMessage(traffic.stats);
    port.close();
  });
}
