import { describe, expect, it } from 'vitest';
import { defaultWorkKnobs, planWork, type WorkSubject } from '../../src/service/simulate.ts';

const subject = (i: number): WorkSubject => ({
  tenantId: `tenant-${i % 7}`,
  userId: `user-${i}`,
  type: i % 2 ? 'ideas-implementation' : 'self-improvement',
  input: { n: i },
});

describe('simulated work', () => {
  it('plans the same attempt identically for the same seed, and differently for another seed', () => {
    const knobs = { ...defaultWorkKnobs, seed: 'a', failureRate: 0.3 };
    const plans = Array.from({ length: 50 }, (_, i) => planWork(knobs, subject(i), 1, 'inline'));
    expect(Array.from({ length: 50 }, (_, i) => planWork(knobs, subject(i), 1, 'inline'))).toEqual(plans);
    const other = Array.from({ length: 50 }, (_, i) =>
      planWork({ ...knobs, seed: 'b' }, subject(i), 1, 'inline'),
    );
    expect(other.map((p) => p.durationMs)).not.toEqual(plans.map((p) => p.durationMs));
  });

  it('fails the queued path wherever the inline path fails, plus the defect share on top', () => {
    const knobs = { ...defaultWorkKnobs, failureRate: 0.05, queueDefectRate: 0.1 };
    let inline = 0;
    let queued = 0;
    const n = 4_000;
    for (let i = 0; i < n; i++) {
      const a = planWork(knobs, subject(i), 1, 'inline');
      const b = planWork(knobs, subject(i), 1, 'queued');
      if (a.error) {
        inline++;
        expect(b.error).not.toBeNull();
      }
      if (b.error) queued++;
      expect(a.durationMs).toBe(b.durationMs);
      expect(a.result).toEqual(b.result);
    }
    expect(inline / n).toBeCloseTo(0.05, 1);
    expect(queued / n).toBeCloseTo(0.15, 1);
  });

  it('draws each retry afresh, so a failed attempt can succeed on the next one', () => {
    const knobs = { ...defaultWorkKnobs, failureRate: 0.5 };
    const outcomes = Array.from(
      { length: 20 },
      (_, attempt) => planWork(knobs, subject(1), attempt + 1, 'queued').error,
    );
    expect(outcomes.some((e) => e === null)).toBe(true);
    expect(outcomes.some((e) => e !== null)).toBe(true);
  });

  it('runs ideas implementation longer than self-improvement on average, spread around workMs', () => {
    const knobs = { ...defaultWorkKnobs, workMs: 100 };
    const mean = (type: WorkSubject['type']) => {
      let sum = 0;
      for (let i = 0; i < 2_000; i++) sum += planWork(knobs, { ...subject(i), type }, 1, 'inline').durationMs;
      return sum / 2_000;
    };
    expect(mean('self-improvement')).toBeGreaterThan(90);
    expect(mean('self-improvement')).toBeLessThan(115);
    expect(mean('ideas-implementation')).toBeGreaterThan(mean('self-improvement') * 1.1);
  });
});
