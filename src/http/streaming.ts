// Server-Sent Events for unleash-client's streaming mode: hydrate on connect, push each change as a delta.
import { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { AppError } from '../errors.ts';
import type { UnleashFeature } from '../evaluation/types.ts';
import type { Logger } from '../log.ts';
import type { ServedDelta, ServedDocument, ServedFeatures } from '../rollout/served.ts';
import type { SdkRegistry } from '../sdk/instances.ts';
import type { AuthEnv } from './auth.ts';

/** The SDK drops a stream that is silent for 60 s; a comment line well before that keeps it open. */
export const DEFAULT_HEARTBEAT_MS = 25_000;

interface Client {
  stream: SSEStreamingApi;
  /** Writes are chained so a client sees its hydration before any delta, and deltas in order. */
  queue: Promise<void>;
  /** Writes queued and not yet flushed: a reader this far behind is dropped and resumes by Last-Event-ID. */
  pending: number;
  end: () => void;
  /** The request's headers: which SDK instance this stream belongs to. */
  headers: Headers;
}

/** Bounds that keep one slow or numerous audience from exhausting memory. */
export const streamingLimits = { maxClients: 10_000, maxPendingWrites: 100 };

type DeltaEvent =
  | { type: 'hydration'; eventId: number; features: readonly UnleashFeature[]; segments: [] }
  | { type: 'feature-updated'; eventId: number; feature: UnleashFeature }
  | { type: 'feature-removed'; eventId: number; featureName: string; project: string };

const hydration = (doc: ServedDocument): DeltaEvent[] => [
  { type: 'hydration', eventId: doc.revision, features: doc.features, segments: [] },
];

const deltaEvents = (revision: number, delta: ServedDelta): DeltaEvent[] => [
  ...delta.updated.map((feature) => ({ type: 'feature-updated' as const, eventId: revision, feature })),
  ...delta.removed.map((featureName) => ({
    type: 'feature-removed' as const,
    eventId: revision,
    featureName,
    project: 'default',
  })),
];

export type StreamingHub = ReturnType<typeof createStreamingHub>;

export function createStreamingHub(deps: {
  served: ServedFeatures;
  log: Logger;
  heartbeatMs?: number;
  limits?: typeof streamingLimits;
  /** Each push written to a stream is recorded as that SDK instance holding the pushed revision. */
  sdks?: SdkRegistry | undefined;
}) {
  const { served, log, sdks } = deps;
  const limits = deps.limits ?? streamingLimits;
  const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const clients = new Set<Client>();
  let heartbeat: NodeJS.Timeout | undefined;

  /** Queues a write; with `doc`, the write's completion is the SDK holding that revision. */
  const send = (client: Client, write: (s: SSEStreamingApi) => Promise<void>, doc?: ServedDocument) => {
    if (client.pending >= limits.maxPendingWrites) {
      log.warn('streaming client too slow; dropped, it resumes from its last event id', {
        pending: client.pending,
      });
      drop(client);
      return;
    }
    client.pending++;
    client.queue = client.queue
      .then(async () => {
        if (client.stream.aborted || client.stream.closed) return;
        await write(client.stream);
        if (doc) sdks?.fetched(client.headers, doc.revision, doc.etag, 'stream');
      })
      .catch((err) => {
        log.debug('streaming client dropped', { err });
        drop(client);
      })
      .finally(() => {
        client.pending--;
      });
  };

  const drop = (client: Client) => {
    if (!clients.delete(client)) return;
    sdks?.streaming(client.headers, false);
    client.end();
    if (clients.size === 0 && heartbeat) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  };

  const unsubscribe = served.onUpdate((doc, delta) => {
    const data = JSON.stringify({ events: deltaEvents(doc.revision, delta) });
    for (const client of clients) {
      send(client, (s) => s.writeSSE({ event: 'unleash-updated', id: String(doc.revision), data }), doc);
    }
  });

  const routes = new Hono<AuthEnv>();
  routes.get('/streaming', (c) => {
    if (clients.size >= limits.maxClients) {
      throw new AppError(
        'UNAVAILABLE',
        `streaming is at its limit of ${limits.maxClients} clients; poll instead`,
      );
    }
    const lastEventId = c.req.header('last-event-id');
    const response = streamSSE(c, (stream) => {
      let end = () => {};
      const open = new Promise<void>((resolve) => {
        end = resolve;
      });
      const headers = c.req.raw.headers;
      const client: Client = { stream, queue: Promise.resolve(), pending: 0, end, headers };
      // Registered and hydrated in the same tick: no change can slip between the two.
      clients.add(client);
      sdks?.streaming(headers, true);
      stream.onAbort(() => drop(client));
      if (!heartbeat) {
        heartbeat = setInterval(() => {
          for (const each of clients) send(each, (s) => s.write(': heartbeat\n\n').then(() => undefined));
        }, heartbeatMs);
        heartbeat.unref();
      }
      const doc = served.current();
      // A client that resumes (Last-Event-ID) gets only what it missed, or everything if we cannot tell.
      const delta = lastEventId ? served.deltaSince(Number(lastEventId)) : undefined;
      const events = delta ? deltaEvents(doc.revision, delta) : hydration(doc);
      const data = JSON.stringify({ events });
      send(client, (s) => s.writeSSE({ event: 'unleash-connected', id: String(doc.revision), data }), doc);
      return open;
    });
    // A stream is never followed by another request on its socket: let it close with the stream, so a
    // shutdown does not wait out the keep-alive timeout.
    response.headers.set('Connection', 'close');
    // Reverse proxies (nginx) would otherwise buffer the stream and hold back pushed changes.
    response.headers.set('X-Accel-Buffering', 'no');
    return response;
  });

  return {
    routes,
    clients: () => clients.size,
    /** Ends every open stream, so the HTTP server can close. */
    close() {
      unsubscribe();
      for (const client of [...clients]) drop(client);
    },
  };
}
