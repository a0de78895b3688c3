// Seeded randomness for simulations (the detection benchmark, the power audit, detector tests): xoshiro128** and exact samplers (normal, gamma, Poisson, binomial).

export interface Rng {
  /** Uniform on (0, 1), never 0 or 1. */
  uniform(): number;
  normal(): number;
  /** Gamma(shape, 1). */
  gamma(shape: number): number;
  poisson(mean: number): number;
  binomial(n: number, p: number): number;
  /** Integer uniform on [lo, hi]. */
  integer(lo: number, hi: number): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

// ln k! from a table for small k, Stirling's series beyond (error below 1e-10 for k ≥ 64).
const logFactorials: number[] = [0];
for (let k = 1; k < 64; k++) logFactorials.push((logFactorials[k - 1] as number) + Math.log(k));
function logFactorial(k: number): number {
  if (k < 64) return logFactorials[k] as number;
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}

/** A generator from a list of integers (scenario, seed, ...), mixed so nearby seeds give unrelated streams. */
export function createRng(...seed: number[]): Rng {
  const mix = splitmix32(seed.reduce((h, v) => Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0, 0x811c9dc5));
  let s0 = mix();
  let s1 = mix();
  let s2 = mix();
  let s3 = mix() | 1;
  let spare: number | null = null;

  const next32 = () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const uniform = () => (next32() + 0.5) / 4294967296;

  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * uniform() - 1;
      const v = 2 * uniform() - 1;
      const r = u * u + v * v;
      if (r >= 1 || r === 0) continue;
      const f = Math.sqrt((-2 * Math.log(r)) / r);
      spare = v * f;
      return u * f;
    }
  };

  // Marsaglia & Tsang (2000); shapes below 1 through Gamma(a+1)·U^(1/a).
  const gamma = (shape: number): number => {
    if (shape <= 0) return 0;
    if (shape < 1) return gamma(shape + 1) * uniform() ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  };

  // Knuth's product method for small means; Hörmann's PTRS (transformed rejection, 1993) otherwise.
  const poisson = (mean: number): number => {
    if (mean <= 0) return 0;
    if (mean < 10) {
      const limit = Math.exp(-mean);
      let k = 0;
      let p = uniform();
      while (p > limit) {
        k++;
        p *= uniform();
      }
      return k;
    }
    const slam = Math.sqrt(mean);
    const logLam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = uniform() - 0.5;
      const v = uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      const lhs = Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b);
      if (lhs <= -mean + k * logLam - logFactorial(k)) return k;
    }
  };

  // Inversion for small n·p; Hörmann's BTRS (1993) otherwise; p > 1/2 by symmetry.
  const binomial = (n: number, p: number): number => {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - binomial(n, 1 - p);
    const q = 1 - p;
    if (n * p < 10) {
      const s = p / q;
      const a = (n + 1) * s;
      let r = q ** n;
      let u = uniform();
      let x = 0;
      while (u > r && x < n) {
        u -= r;
        x++;
        r *= a / x - s;
      }
      return x;
    }
    const spq = Math.sqrt(n * p * q);
    const b = 1.15 + 2.53 * spq;
    const a = -0.0873 + 0.0248 * b + 0.01 * p;
    const c = n * p + 0.5;
    const vr = 0.92 - 4.2 / b;
    const alpha = (2.83 + 5.1 / b) * spq;
    const lpq = Math.log(p / q);
    const m = Math.floor((n + 1) * p);
    const h = logFactorial(m) + logFactorial(n - m);
    for (;;) {
      const u = uniform() - 0.5;
      let v = uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + c);
      if (k < 0 || k > n) continue;
      if (us >= 0.07 && v <= vr) return k;
      v = Math.log((v * alpha) / (a / (us * us) + b));
      if (v <= h - logFactorial(k) - logFactorial(n - k) + (k - m) * lpq) return k;
    }
  };

  const integer = (lo: number, hi: number) => lo + Math.floor(uniform() * (hi - lo + 1));

  return { uniform, normal, gamma, poisson, binomial, integer };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
