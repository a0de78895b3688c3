// OTLP/HTTP metrics on the wire: ExportMetricsServiceRequest decoded from protobuf or JSON with the official .proto files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';

/** opentelemetry-proto v1.11.0, copied unchanged: the definitions every OTLP sender encodes with. */
const protoDir = fileURLToPath(new URL('./otlp-proto', import.meta.url));
const servicePackage = 'opentelemetry.proto.collector.metrics.v1';

export interface OtlpKeyValue {
  key: string;
  value?: {
    stringValue?: string;
    boolValue?: boolean;
    intValue?: string;
    doubleValue?: number;
  };
}

export interface OtlpHistogramPoint {
  attributes: OtlpKeyValue[];
  /** Nanoseconds since the epoch, as decimal strings: int64 does not fit a double. */
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum?: number;
  bucketCounts: string[];
  explicitBounds: number[];
}

export interface OtlpMetric {
  name: string;
  unit: string;
  histogram?: { dataPoints: OtlpHistogramPoint[]; aggregationTemporality: number };
}

export interface OtlpMetricsRequest {
  resourceMetrics: Array<{
    resource?: { attributes: OtlpKeyValue[] };
    scopeMetrics: Array<{ scope?: { name: string }; metrics: OtlpMetric[] }>;
  }>;
}

export const temporality = { delta: 1, cumulative: 2 } as const;

let types: { request: protobuf.Type; response: protobuf.Type } | undefined;

/** Parsed once, on first use: the .proto text is read from disk, not at import. */
function otlpTypes() {
  if (!types) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(protoDir, target);
    root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto');
    root.resolveAll();
    types = {
      request: root.lookupType(`${servicePackage}.ExportMetricsServiceRequest`),
      response: root.lookupType(`${servicePackage}.ExportMetricsServiceResponse`),
    };
  }
  return types;
}

const asPlain = (type: protobuf.Type, message: protobuf.Message) =>
  type.toObject(message, {
    longs: String,
    enums: Number,
    defaults: true,
    arrays: true,
  }) as OtlpMetricsRequest;

export type WireFormat = 'protobuf' | 'json';

/** Throws with the decoder's reason when the bytes are not an ExportMetricsServiceRequest. */
export function decodeMetricsRequest(body: Uint8Array, format: WireFormat): OtlpMetricsRequest {
  const { request } = otlpTypes();
  if (format === 'protobuf') return asPlain(request, request.decode(body));
  const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  // ProtoJSON rules (camelCase or proto names, int64 as strings); unknown fields are ignored, as OTLP asks.
  return asPlain(request, protojson.fromJsonString(request, text, { ignoreUnknownFields: true }));
}

/** The OTLP answer: empty on full success, `partialSuccess` naming how many points were refused and why. */
export function encodeMetricsResponse(
  format: WireFormat,
  partial?: { rejectedDataPoints: number; errorMessage: string },
): { body: Uint8Array | string; contentType: string } {
  const { response } = otlpTypes();
  const value = partial ? { partialSuccess: partial } : {};
  if (format === 'json') return { body: JSON.stringify(value), contentType: 'application/json' };
  return {
    body: response.encode(response.fromObject(value)).finish(),
    contentType: 'application/x-protobuf',
  };
}
