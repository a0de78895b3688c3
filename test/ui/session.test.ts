// Session cookies and CSRF tokens: signed by the server, bound to one session, expiring, keyed from the data directory.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createSessions, loadSessionKey, sessionKeyFile } from '../../src/ui/session.ts';
import { tempDir } from '../helpers/rollgate.ts';

describe('dashboard sessions', () => {
  it('keeps a generated key owner-only in the data directory and reuses it, unless one is configured', () => {
    const dir = tempDir();
    const first = loadSessionKey(dir, undefined);
    expect(first).toHaveLength(32);
    expect(fs.statSync(sessionKeyFile(dir)).mode & 0o777).toBe(0o600);
    expect(loadSessionKey(dir, undefined).equals(first)).toBe(true);
    expect(loadSessionKey(dir, 's'.repeat(32)).toString()).toBe('s'.repeat(32));
  });

  it('reads back what it issued until it expires or is revoked', () => {
    const clock = manualClock();
    const sessions = createSessions({ key: Buffer.alloc(32, 1), ttlMs: 60_000, clock });
    const { session, cookie } = sessions.issue('viewer', 'watcher');
    expect(sessions.read(cookie)).toEqual(session);
    clock.advance(59_999);
    expect(sessions.read(cookie)?.name).toBe('watcher');
    clock.advance(1);
    expect(sessions.read(cookie)).toBeUndefined();
    const other = sessions.issue('admin', 'ops');
    sessions.revoke(other.session);
    expect(sessions.read(other.cookie)).toBeUndefined();
  });

  it('rejects cookies signed with another key, edited, or malformed', () => {
    const clock = manualClock();
    const a = createSessions({ key: Buffer.alloc(32, 1), ttlMs: 60_000, clock });
    const b = createSessions({ key: Buffer.alloc(32, 2), ttlMs: 60_000, clock });
    const { cookie } = a.issue('viewer', 'watcher');
    expect(b.read(cookie)).toBeUndefined();
    const [payload, signature] = cookie.split('.');
    const json = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...json, role: 'admin' })).toString('base64url');
    expect(a.read(`${promoted}.${signature}`)).toBeUndefined();
    for (const bad of ['', 'x', `${payload}.`, `${payload}.${signature}.x`, `.${signature}`])
      expect(a.read(bad)).toBeUndefined();
  });

  it('binds the CSRF token to its session', () => {
    const sessions = createSessions({ key: Buffer.alloc(32, 1), ttlMs: 60_000, clock: manualClock() });
    const one = sessions.issue('admin', 'ops').session;
    const two = sessions.issue('admin', 'ops').session;
    const token = sessions.csrfToken(one);
    expect(sessions.checkCsrf(one, token)).toBe(true);
    expect(sessions.checkCsrf(two, token)).toBe(false);
    expect(sessions.checkCsrf(one, undefined)).toBe(false);
    expect(sessions.checkCsrf(one, `${token}x`)).toBe(false);
  });
});
