// The dashboard's event stream over a real port: a transition reaches a signed-in reader as the row's new markup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testTokens } from '../helpers/rollgate.ts';
import { startUiServer } from './ui-server.ts';

describe('dashboard live stream', () => {
  let server: Awaited<ReturnType<typeof startUiServer>>;
  let stopped = false;
  beforeAll(async () => {
    server = await startUiServer();
  });
  afterAll(async () => {
    if (!stopped) await server.stop();
  });

  it("ends a session's stream when it signs out", async () => {
    const login = await fetch(`${server.url}/ui/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: testTokens.admin }),
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const page = await (await fetch(`${server.url}/ui`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const reader = (
      (await fetch(`${server.url}/ui/stream`, { headers: { cookie } })).body as ReadableStream
    ).getReader();
    expect((await reader.read()).done).toBe(false);
    const out = await fetch(`${server.url}/ui/logout`, {
      method: 'POST',
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf }),
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    // Reads until the server ends the stream; a stream left open would time this test out.
    const events: string[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) events.push(String(r.value));
    expect(events.join('')).not.toContain('event: flag');
  });

  it('pushes a rollback to a signed-in reader, and ends the stream when the server stops', async () => {
    const login = await fetch(`${server.url}/ui/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: testTokens.admin }),
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const res = await fetch(`${server.url}/ui/stream`, { headers: { cookie } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (test: (t: string) => boolean) => {
      while (!test(text)) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += decoder.decode(value, { stream: true });
      }
      return true;
    };
    expect(await until((t) => t.includes('event: ready'))).toBe(true);

    await server.api('POST', '/api/admin/flags/queue.async-tasks/rollout/start', { reason: 'live' });
    await server.api('POST', '/api/admin/flags/queue.async-tasks/rollout/rollback', { reason: 'alarm' });
    expect(await until((t) => t.includes('"phase":"rolled-back"'))).toBe(true);
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event: flag'))
      .map((block) => JSON.parse(block.split('\ndata: ')[1] ?? '{}'));
    const last = events.at(-1);
    expect(last).toMatchObject({ name: 'queue.async-tasks', phase: 'rolled-back', percent: 0 });
    expect(last.row).toMatch(
      /^<tr id="flag-queue\.async-tasks" data-flag="queue\.async-tasks" data-phase="rolled-back">/,
    );
    expect(last.row).toContain('alarm');
    expect(events.map((e) => e.phase)).toEqual(['progressing', 'rolled-back']);
    // Stopping the server ends the open stream instead of waiting on it.
    stopped = true;
    await server.stop();
    expect(await until(() => false)).toBe(false);
  });
});
