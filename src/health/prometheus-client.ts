// A bounded Prometheus HTTP API client: query_range with a timeout, a response-size cap and a series limit.
import fs from 'node:fs';
import { z } from 'zod';

export interface PrometheusSettings {
  url: string;
  /** Read on every request, so a rotated secret is picked up without a restart. */
  bearerTokenFile?: string | undefined;
  /** A file holding `user:password`. */
  basicAuthFile?: string | undefined;
  timeoutMs: number;
  maxSeries: number;
}

/** A Prometheus answer bigger than this is refused: a template that selects too much, not data we want. */
export const maxResponseBytes = 8 * 1024 * 1024;

export interface Series {
  labels: Record<string, string>;
  /** [unix seconds, value] pairs, as Prometheus sends them. */
  values: Array<[number, number]>;
}

export type RangeResult = { ok: true; series: Series[] } | { ok: false; error: string };

const rangeBody = z.object({
  status: z.enum(['success', 'error']),
  error: z.string().optional(),
  errorType: z.string().optional(),
  data: z
    .object({
      resultType: z.string(),
      result: z.array(
        z.object({
          metric: z.record(z.string(), z.string()),
          values: z.array(z.tuple([z.number(), z.string()])).default([]),
        }),
      ),
    })
    .optional(),
});

function authHeader(s: PrometheusSettings): string | undefined {
  if (s.bearerTokenFile) return `Bearer ${fs.readFileSync(s.bearerTokenFile, 'utf8').trim()}`;
  if (s.basicAuthFile) {
    const pair = fs.readFileSync(s.basicAuthFile, 'utf8').trim();
    return `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  return undefined;
}

async function readCapped(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxResponseBytes) {
      await reader.cancel();
      throw new Error(`response larger than ${maxResponseBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export type PrometheusClient = ReturnType<typeof createPrometheusClient>;

export function createPrometheusClient(settings: PrometheusSettings) {
  const endpoint = new URL(
    'api/v1/query_range',
    settings.url.endsWith('/') ? settings.url : `${settings.url}/`,
  );
  return {
    /** Never throws: every failure is data, with Prometheus's own words where it gave any. */
    async queryRange(query: string, startSec: number, endSec: number, stepSec: number): Promise<RangeResult> {
      const form = new URLSearchParams({
        query,
        start: String(startSec),
        end: String(endSec),
        step: String(stepSec),
        timeout: `${Math.max(1, Math.floor(settings.timeoutMs / 1000))}s`,
      });
      try {
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        const auth = authHeader(settings);
        if (auth) headers.authorization = auth;
        const res = await fetch(endpoint, {
          method: 'POST',
          headers,
          body: form,
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
        const text = await readCapped(res);
        let parsed: z.output<typeof rangeBody>;
        try {
          parsed = rangeBody.parse(JSON.parse(text));
        } catch {
          return { ok: false, error: `HTTP ${res.status}: ${text.slice(0, 200) || 'no body'}` };
        }
        if (parsed.status === 'error' || !parsed.data) {
          return {
            ok: false,
            error: `${parsed.errorType ?? `HTTP ${res.status}`}: ${parsed.error ?? 'no data'}`,
          };
        }
        if (parsed.data.result.length > settings.maxSeries) {
          return {
            ok: false,
            error: `${parsed.data.result.length} series, more than the limit of ${settings.maxSeries}; aggregate with sum()`,
          };
        }
        const series = parsed.data.result.map((r) => ({
          labels: r.metric,
          values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]),
        }));
        return { ok: true, series };
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const cause = e.cause?.code ?? e.cause?.message;
        const what = e.name === 'TimeoutError' ? `timed out after ${settings.timeoutMs} ms` : e.message;
        return { ok: false, error: cause ? `${what} (${cause})` : what };
      }
    },
  };
}
