// The caller's region (X-Region) on the service's routes: validated, kept with a queued task, reported as its segment.
import { describe, expect, it } from 'vitest';
import { demoRegions, regionOfUser } from '../../src/cli/demo-traffic.ts';
import { segmentFor } from '../../src/service/segment.ts';
import { defaultWorkKnobs, planWork } from '../../src/service/simulate.ts';
import { settled, useHarnesses } from './harness.ts';

const start = useHarnesses();

describe('X-Region on the service', () => {
  it('refuses a malformed region naming the header, and keeps a valid one with the task for its worker', async () => {
    const h = await start();
    const post = async (region: string) => {
      const res = await fetch(`${h.url}/service/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-region': region },
        body: JSON.stringify({ tenantId: 'acme', userId: 'u1', type: 'self-improvement', input: {} }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { task: { id: string }; error: { message: string } },
      };
    };
    const bad = await post('eu west');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^header x-region: must be 1 to 100 letters/);
    const ok = await post('eu-west-1');
    expect(ok.status).toBe(201);
    expect(h.service.tasks.regionOf(ok.body.task.id)).toBe('eu-west-1');
    await settled(h, ok.body.task.id);
  });

  it('segments by the chosen field only when its value can be stored as a segment', () => {
    expect(segmentFor('region', { region: 'eu', tenantId: 'acme' })).toBe('eu');
    expect(segmentFor('tenantId', { region: 'eu', tenantId: 'acme' })).toBe('acme');
    expect(segmentFor('tenantId', { tenantId: 'acme corp' })).toBeUndefined();
    expect(segmentFor('none', { region: 'eu' })).toBeUndefined();
    expect(segmentFor('region', {})).toBeUndefined();
  });

  it('adds a region defect to queued attempts from that region only, leaving every other draw as it was', () => {
    const knobs = { ...defaultWorkKnobs, failureRate: 0, regionDefects: { eu: 1 } };
    const task = { tenantId: 't', userId: 'u', type: 'self-improvement' as const, input: {} };
    expect(planWork(knobs, { ...task, region: 'eu' }, 1, 'queued').error).not.toBeNull();
    expect(planWork(knobs, { ...task, region: 'eu' }, 1, 'inline').error).toBeNull();
    expect(planWork(knobs, { ...task, region: 'us' }, 1, 'queued').error).toBeNull();
    expect(planWork(knobs, task, 1, 'queued')).toEqual(
      planWork({ ...knobs, regionDefects: {} }, task, 1, 'queued'),
    );
  });

  it('gives the demo users fixed regions in uneven shares', () => {
    const counts: Record<string, number> = {};
    for (let user = 0; user < 10_000; user++) {
      const region = regionOfUser(user, demoRegions) ?? 'none';
      counts[region] = (counts[region] ?? 0) + 1;
    }
    for (const [region, share] of Object.entries(demoRegions))
      expect(Math.abs((counts[region] ?? 0) / 10_000 - share)).toBeLessThan(0.02);
    expect(regionOfUser(42, demoRegions)).toBe(regionOfUser(42, demoRegions));
    expect(regionOfUser(1, {})).toBeUndefined();
  });
});
