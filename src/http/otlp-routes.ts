// OTLP/HTTP metrics intake (`POST /v1/metrics`): protobuf or JSON, optionally gzipped, into the one signal ingestion path.
import { gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { type ArmsOf, createOtlpMetricsMapper, type OtelAttributeNames } from '../health/otlp-metrics.ts';
import { decodeMetricsRequest, encodeMetricsResponse, type WireFormat } from '../health/otlp-wire.ts';
import type { Logger } from '../log.ts';
import type { AuthEnv } from './auth.ts';
import type { SignalIngestor } from './signal-routes.ts';

/** A gzip body may inflate to this much and no more (a compressed body is already capped at 5 MiB). */
export const maxInflatedBytes = 32 * 1024 * 1024;

function formatOf(contentType: string | undefined): WireFormat {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new AppError(
    'BAD_REQUEST',
    `content-type: "${type || '(none)'}" is not OTLP; send application/x-protobuf or application/json`,
  );
}

function inflate(body: Uint8Array, encoding: string | undefined): Uint8Array {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return body;
  if (enc !== 'gzip')
    throw new AppError('BAD_REQUEST', `content-encoding: "${enc}" is not supported; send gzip or none`);
  try {
    return gunzipSync(body, { maxOutputLength: maxInflatedBytes });
  } catch (err) {
    throw new AppError(
      'BAD_REQUEST',
      `content-encoding: gzip body does not inflate: ${(err as Error).message}`,
    );
  }
}

export function createOtlpRoutes(deps: {
  signals: SignalIngestor;
  arms: ArmsOf;
  clock: Clock;
  log: Logger;
  /** Points refused in a partial success, for /metrics. */
  onRejected?: (points: number) => void;
  /** Attribute names plans configured for themselves (`rollout.opentelemetry`). */
  attributeNames?: () => OtelAttributeNames;
}) {
  const mapper = createOtlpMetricsMapper({
    arms: deps.arms,
    attributeNames: deps.attributeNames,
    nowNs: () => BigInt(deps.clock()) * 1_000_000n,
  });
  const app = new Hono<AuthEnv>();

  app.post('/metrics', async (c) => {
    const format = formatOf(c.req.header('content-type'));
    const raw = inflate(new Uint8Array(await c.req.arrayBuffer()), c.req.header('content-encoding'));
    let request: ReturnType<typeof decodeMetricsRequest>;
    try {
      request = decodeMetricsRequest(raw, format);
    } catch (err) {
      // OTLP: a body that does not decode is a 400, which senders do not retry.
      throw new AppError(
        'BAD_REQUEST',
        `body is not an OTLP ExportMetricsServiceRequest (${format}): ${(err as Error).message}`,
      );
    }
    const mapped = mapper.map(request);
    // Committed before the answer, as POST /api/signals is: a 200 means the points are on disk.
    if (mapped.records.length) deps.signals.ingest(mapped.records);
    deps.log.debug('otlp metrics', {
      records: mapped.records.length,
      rejected: mapped.rejected,
      baselines: mapped.baselines,
      streams: mapper.streams(),
    });
    if (mapped.rejected) deps.onRejected?.(mapped.rejected);
    const partial = mapped.rejected
      ? { rejectedDataPoints: mapped.rejected, errorMessage: mapped.reasons.join('; ') }
      : undefined;
    const { body, contentType } = encodeMetricsResponse(format, partial);
    return c.body(typeof body === 'string' ? body : new Uint8Array(body), 200, {
      'Content-Type': contentType,
    });
  });

  return app;
}
