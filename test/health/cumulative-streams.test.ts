import { describe, expect, it } from 'vitest';
import { createCumulativeStreams, type HistogramReading } from '../../src/health/cumulative-streams.ts';

const s = (n: number) => `${BigInt(n) * 1_000_000_000n}`;
const reading = (start: number, time: number, counts: number[], sum = 0): HistogramReading => ({
  start: s(start),
  time: s(time),
  count: counts.reduce((a, b) => a + b, 0),
  sum,
  bucketCounts: counts,
  bounds: [0.1],
});

function streams(watchingSince = 1000, maxStreams?: number) {
  let now = BigInt(watchingSince) * 1_000_000_000n;
  const tracker = createCumulativeStreams({ nowNs: () => now, maxStreams });
  return { tracker, advance: (sec: number) => (now = BigInt(sec) * 1_000_000_000n) };
}

describe('cumulative → delta per stream', () => {
  it('uses the first reading of a stream older than our watch as a baseline, then sends differences', () => {
    const { tracker } = streams(1000);
    expect(tracker.next('a', reading(500, 1010, [5, 1], 2))).toEqual({ kind: 'baseline' });
    const next = tracker.next('a', reading(500, 1070, [8, 2], 3));
    expect(next).toMatchObject({ kind: 'delta', delta: { count: 4, bucketCounts: [3, 1], sum: 1 } });
    if (next.kind === 'delta')
      expect([next.delta.from, next.delta.to]).toEqual([BigInt(s(1010)), BigInt(s(1070))]);
  });

  it('counts a stream that started after we began watching from zero', () => {
    const { tracker } = streams(1000);
    expect(tracker.next('a', reading(1005, 1060, [2, 0]))).toMatchObject({
      kind: 'delta',
      delta: { count: 2 },
    });
  });

  it('treats a new start time or a drop in counts as a restarted sender: the whole reading is new', () => {
    const { tracker } = streams(1000);
    tracker.next('a', reading(500, 1010, [50, 0]));
    expect(tracker.next('a', reading(1050, 1060, [3, 0]))).toMatchObject({
      kind: 'delta',
      delta: { count: 3 },
    });
    // Same start time but fewer counts (a sender that kept its start time across a reset).
    expect(tracker.next('a', reading(1050, 1120, [1, 0]))).toMatchObject({
      kind: 'delta',
      delta: { count: 1 },
    });
  });

  it('ignores repeated or out-of-order readings', () => {
    const { tracker } = streams(1000);
    tracker.next('a', reading(500, 1010, [1, 0]));
    tracker.next('a', reading(500, 1070, [4, 0]));
    expect(tracker.next('a', reading(500, 1070, [4, 0]))).toEqual({ kind: 'stale' });
    expect(tracker.next('a', reading(500, 1040, [2, 0]))).toEqual({ kind: 'stale' });
  });

  it('after a Rollgate restart (no memory) the next reading is a baseline, never counted twice', () => {
    const before = streams(1000).tracker;
    before.next('a', reading(500, 1010, [5, 0]));
    const afterRestart = streams(2000).tracker;
    expect(afterRestart.next('a', reading(500, 2010, [90, 0]))).toEqual({ kind: 'baseline' });
  });

  it('stays bounded: the least recently seen stream is forgotten and comes back as a baseline', () => {
    const { tracker, advance } = streams(1000, 2);
    tracker.next('a', reading(1001, 1010, [1, 0]));
    tracker.next('b', reading(1001, 1010, [1, 0]));
    advance(1020);
    tracker.next('c', reading(1001, 1010, [1, 0]));
    expect(tracker.size()).toBe(2);
    // "a" was evicted; its start is before the eviction, so it cannot be told from one we saw: baseline.
    expect(tracker.next('a', reading(1001, 1080, [7, 0]))).toEqual({ kind: 'baseline' });
  });
});
