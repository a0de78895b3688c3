import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
}

let server: SdkServer | undefined;
const aborts: AbortController[] = [];
afterEach(async () => {
  // Stopping first ends the streams from the server side, as a shutdown would.
  await server?.stop();
  server = undefined;
  for (const a of aborts.splice(0)) a.abort();
});

/** Opens the stream as an SDK would and yields parsed messages, comments (heartbeats) included. */
async function openStream(s: SdkServer, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  aborts.push(abort);
  const res = await fetch(`${s.url}/api/client/streaming`, {
    headers: { authorization: s.tokens.client, ...headers },
    signal: abort.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pending: SseMessage[] = [];
  const next = async (): Promise<SseMessage> => {
    while (!pending.length) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const message: SseMessage = {};
        for (const line of buffer.slice(0, end).split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          const m = /^(event|id|data): ?(.*)$/.exec(line);
          if (m) message[m[1] as 'event' | 'id' | 'data'] = m[2];
        }
        pending.push(message);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
    return pending.shift() as SseMessage;
  };
  /** The next message that is not a heartbeat. */
  const nextEvent = async () => {
    for (;;) {
      const m = await next();
      if (m.event) return { ...m, body: JSON.parse(m.data ?? '{}') };
    }
  };
  return { res, next, nextEvent, ended: async () => (await reader.read()).done };
}

describe('GET /api/client/streaming', () => {
  it('opens an event stream with unleash-connected carrying a hydration of the served document', async () => {
    server = await startSdkServer();
    const stream = await openStream(server);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toContain('text/event-stream');
    const connected = await stream.nextEvent();
    const doc = server.rg.served.current();
    expect(connected.event).toBe('unleash-connected');
    expect(connected.id).toBe(String(doc.revision));
    expect(connected.body).toEqual({
      events: [{ type: 'hydration', eventId: doc.revision, features: doc.features, segments: [] }],
    });
  });

  it('pushes each change to every open stream as an unleash-updated delta with a growing id', async () => {
    server = await startSdkServer();
    const streams = [await openStream(server), await openStream(server)];
    for (const s of streams) await s.nextEvent();
    await server.admin('flags/demo.kill/disable');
    for (const s of streams) {
      const updated = await s.nextEvent();
      expect(updated.event).toBe('unleash-updated');
      expect(updated.id).toBe(String(server.rg.served.current().revision));
      expect(updated.body.events).toEqual([
        expect.objectContaining({
          type: 'feature-updated',
          feature: expect.objectContaining({ name: 'demo.kill', enabled: false }),
        }),
      ]);
    }
  });

  it('resumes from Last-Event-ID with only the missed changes, and hydrates when it cannot tell', async () => {
    server = await startSdkServer();
    const first = await openStream(server);
    const connected = await first.nextEvent();
    await server.admin('flags/demo.toggle/enable');
    await server.admin('flags/xcheck.p5/rollout/start');

    const resumed = await openStream(server, { 'last-event-id': connected.id as string });
    const missed = await resumed.nextEvent();
    expect(missed.event).toBe('unleash-connected');
    expect(
      missed.body.events.map((e: { type: string; feature: { name: string } }) => [e.type, e.feature.name]),
    ).toEqual([
      ['feature-updated', 'demo.toggle'],
      ['feature-updated', 'xcheck.p5'],
    ]);

    const current = await openStream(server, {
      'last-event-id': String(server.rg.served.current().revision),
    });
    expect((await current.nextEvent()).body).toEqual({ events: [] });

    const unknown = await openStream(server, { 'last-event-id': '999999' });
    expect((await unknown.nextEvent()).body.events[0].type).toBe('hydration');
  });

  it('sends heartbeats between changes, at the injected interval', async () => {
    server = await startSdkServer({ heartbeatMs: 20 });
    const stream = await openStream(server);
    await stream.nextEvent();
    expect(await stream.next()).toEqual({ comment: 'heartbeat' });
    expect(await stream.next()).toEqual({ comment: 'heartbeat' });
  });

  it('ends open streams when Rollgate stops, so shutdown is not held up', async () => {
    server = await startSdkServer();
    const stream = await openStream(server);
    await stream.nextEvent();
    expect(server.rg.streaming.clients()).toBe(1);
    await server.stop();
    server = undefined;
    expect(await stream.ended()).toBe(true);
  });

  it('forgets a client that disconnects', async () => {
    server = await startSdkServer();
    const s = server;
    // A bare socket, so nothing but this one connection is opened and then dropped.
    const req = http.get(`${s.url}/api/client/streaming`, {
      headers: { authorization: s.tokens.client },
      agent: false,
    });
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    await new Promise((resolve) => res.once('data', resolve));
    expect(s.rg.streaming.clients()).toBe(1);
    req.destroy();
    await expect.poll(() => s.rg.streaming.clients()).toBe(0);
  });

  it('refuses streams beyond its client limit with 503, telling SDKs to poll', async () => {
    server = await startSdkServer({ streamingLimits: { maxClients: 1, maxPendingWrites: 100 } });
    const first = await openStream(server);
    expect((await first.nextEvent()).event).toBe('unleash-connected');
    const second = await fetch(`${server.url}/api/client/streaming`, {
      headers: { authorization: server.tokens.client },
    });
    expect(second.status).toBe(503);
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
      /limit of 1 clients; poll instead/,
    );
  });
});
