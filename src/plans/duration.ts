// Durations as written by people ("90s", "10m", "1h30m", "2d") to milliseconds, and back.
const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds, or undefined when the text is not a duration. "0" alone means zero. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  if (!whole.test(t)) return undefined;
  let total = 0;
  for (const [, n, unit] of t.matchAll(part)) total += Number(n) * unitMs[unit as keyof typeof unitMs];
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['d', unitMs.d],
    ['h', unitMs.h],
    ['m', unitMs.m],
    ['s', unitMs.s],
  ];
  let rest = ms;
  let out = '';
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${name}`;
    rest -= n * size;
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}
