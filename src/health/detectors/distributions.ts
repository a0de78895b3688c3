// Special functions the detectors need (normal tail, chi-square with one degree of freedom, log-gamma), written here so the statistics carry no dependency.

// Chebyshev fit of erfc (Numerical Recipes `erfcc`): fractional error below 1.2e-7 everywhere, and it is
// already in the form t·exp(−z² + poly(t)), so its logarithm never underflows far in the tail.
function erfcExponent(z: number): { t: number; exponent: number } {
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return { t, exponent: -z * z + poly };
}

/** Complementary error function, erfc(x) = 1 − erf(x). */
export function erfc(x: number): number {
  const { t, exponent } = erfcExponent(Math.abs(x));
  const upper = t * Math.exp(exponent);
  return x >= 0 ? upper : 2 - upper;
}

/** ln erfc(x), finite for large positive x where erfc itself underflows. */
export function logErfc(x: number): number {
  if (x < 0) return Math.log(erfc(x));
  const { t, exponent } = erfcExponent(x);
  return Math.log(t) + exponent;
}

/** Standard normal distribution function Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** ln Φ(x), accurate far into the lower tail. */
export function logNormalCdf(x: number): number {
  return Math.log(0.5) + logErfc(-x / Math.SQRT2);
}

/** P(χ²₁ > x): the p-value of a one-degree-of-freedom chi-square statistic. */
export function chiSquare1Survival(x: number): number {
  if (x <= 0) return 1;
  return erfc(Math.sqrt(x / 2));
}

const lanczos = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = lanczos[0] as number;
  for (let i = 1; i < lanczos.length; i++) sum += (lanczos[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b), the log of the beta function. */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}
