// The trust ledger from event logs, and the sequential test on the weekly rate of overrides.
import { describe, expect, it } from 'vitest';
import { trustChecks, trustLedger, weeklyTrend } from '../../src/audit/ledger.ts';
import type { StoredEvent } from '../../src/rollout/event-store.ts';

const day = 86_400_000;
const now = Date.parse('2026-06-01T00:00:00Z');
let id = 0;
const event = (
  at: number,
  type: string,
  actor: string,
  data: Record<string, unknown> = {},
  flag = 'f',
): StoredEvent => ({
  id: ++id,
  at,
  flag,
  type,
  actor,
  reason: `${type} by ${actor}`,
  data,
});

describe('trust ledger', () => {
  it('records overrides of verdicts, forced starts, kill switches, promotions to full and escapes; not routine actions', () => {
    const t = now - 10 * day;
    const ledger = trustLedger([
      event(t, 'rollout.started', 'ops'),
      event(t + 1, 'rollout.paused', 'controller'),
      event(t + 2, 'rollout.resumed', 'ops'), // past the controller's pause
      event(t + 3, 'rollout.paused', 'ops'),
      event(t + 4, 'rollout.resumed', 'ops'), // their own pause: not an override
      event(t + 5, 'rollout.held', 'controller'),
      event(t + 6, 'rollout.promoted', 'ops'), // past a hold verdict
      event(t + 7, 'rollout.promoted', 'controller'),
      event(t + 8, 'rollout.completed', 'ops'), // straight to full
      event(t + 9, 'rollout.rolled-back', 'controller', { phaseBefore: 'completed' }), // escaped
      event(t + 10, 'rollout.started', 'ops', { forcedOver: [{ alertname: 'X' }] }),
      event(t + 11, 'rollout.rolled-back', 'alert:alertmanager:X', { phaseBefore: 'progressing' }),
      event(t + 12, 'flag.disabled', 'ops'),
      event(t + 13, 'flag.enabled', 'ops'),
    ]);
    expect(ledger.map((e) => [e.kind, e.overrode])).toEqual([
      ['resume-past-verdict', 'rollout.paused by controller'],
      ['promote-past-verdict', 'rollout.held by controller'],
      ['promote-to-full', null],
      ['escape', 'drift against the holdback'],
      ['forced-start', '1 firing alert(s)'],
      ['kill-switch', null],
    ]);
  });

  it('warns when weekly overrides rise (Poisson CUSUM against the older weeks), not at a steady rate', () => {
    const weekly = (counts: number[]) =>
      counts.flatMap((n, w) =>
        Array.from({ length: n }, (_, i) =>
          event(now - (counts.length - w) * 7 * day + (i + 1) * 3_600_000, 'flag.disabled', 'ops'),
        ),
      );
    const since = now - 8 * 7 * day;
    const steady = weekly([1, 1, 1, 1, 1, 1, 1, 1]);
    const [flat] = trustChecks(trustLedger(steady), since, now);
    expect(flat).toMatchObject({
      check: 'trust.overrides',
      status: 'pass',
      numbers: { weeklyCounts: '1,1,1,1,1,1,1,1' },
    });
    const rising = weekly([1, 0, 1, 0, 2, 4, 5, 6]);
    const [up] = trustChecks(trustLedger(rising), since, now);
    expect(up).toMatchObject({ status: 'warn', numbers: { overridesLast30d: 17, baselinePerWeek: 0.5 } });
    expect(up?.summary).toMatch(/human overrides are rising/);
    expect(Number(up?.numbers.cusum)).toBeGreaterThanOrEqual(Math.log(52));
    // Too short a log: rates reported, no trend judged.
    const [short] = trustChecks(trustLedger(rising), now - 3 * 7 * day, now);
    expect(short).toMatchObject({ status: 'pass', numbers: { cusum: null } });
    expect(short?.summary).toMatch(/too few to judge a trend/);
  });

  it('computes the CUSUM from the older half as reference', () => {
    const trend = weeklyTrend([now - 1, now - 2, now - 3], now - 4 * 7 * day, now);
    // Reference weeks 1–2 had none: half an event over two weeks. S = max(0, S + x·ln 2 − λ₀): three events
    // in the last week add 3 ln 2 − 0.25 ≈ 1.83, short of ln 52 ≈ 3.95: one bad week is not a trend.
    expect(trend).toMatchObject({ weeks: [0, 0, 0, 3], baselinePerWeek: 0.25 });
    expect(trend?.cusum).toBeCloseTo(3 * Math.log(2) - 0.25, 10);
    expect(trend?.alarmWeek).toBeNull();
  });

  it('warns about escapes in the last 30 days', () => {
    const ledger = trustLedger([
      event(now - day, 'rollout.rolled-back', 'controller', { phaseBefore: 'completed' }, 'drifty'),
    ]);
    const [, escapes] = trustChecks(ledger, now - 60 * day, now);
    expect(escapes).toMatchObject({ check: 'trust.escapes', status: 'warn', numbers: { escapesLast30d: 1 } });
    expect(escapes?.summary).toMatch(/drifty/);
  });
});
