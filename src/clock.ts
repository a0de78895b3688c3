// Time as an injected dependency: production passes Date.now, tests pass a controllable clock.
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** A clock for tests and replay: time moves only when told to. */
export function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  const clock: Clock & { advance(ms: number): number; set(ms: number): void } = Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
      return now;
    },
    set(ms: number) {
      now = ms;
    },
  });
  return clock;
}

/** Epoch milliseconds as the ISO strings our JSON carries; a missing time stays null. */
export function isoOrNull(ms: number): string;
export function isoOrNull(ms: number | null): string | null;
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
