// Dashboard sessions: a server-signed, expiring cookie (HMAC-SHA256) and a CSRF token bound to it; no server-side store.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Clock } from '../clock.ts';

export type Role = 'admin' | 'viewer';

export interface Session {
  /** Random per sign-in: the CSRF token is derived from it, and sign-out revokes it. */
  sid: string;
  role: Role;
  /** The token's actor name, written in the audit log for actions taken from the dashboard. */
  name: string;
  exp: number;
}

const sessionSchema = z.strictObject({
  sid: z.string().min(16),
  role: z.enum(['admin', 'viewer']),
  name: z.string(),
  exp: z.number(),
});

export const sessionKeyFile = (dataDir: string) => path.join(dataDir, 'session.key');

/**
 * The signing key: ROLLGATE_SESSION_SECRET when set (several servers behind one name must share it), else a
 * random key kept owner-only in the data directory, so sessions survive restarts; deleting it signs everyone out.
 */
export function loadSessionKey(dataDir: string, configured: string | undefined): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = sessionKeyFile(dataDir);
  if (fs.existsSync(file)) {
    const stored = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
    if (stored.length >= 32) return stored;
  }
  const key = randomBytes(32);
  fs.mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${key.toString('base64url')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return key;
}

export type Sessions = ReturnType<typeof createSessions>;

export function createSessions(deps: { key: Buffer; ttlMs: number; clock: Clock }) {
  const { key, ttlMs, clock } = deps;
  // Signed-out sessions until they would have expired anyway; a restart forgets them, the expiry still holds.
  const revoked = new Map<string, number>();
  const mac = (purpose: string, value: string) =>
    createHmac('sha256', key).update(`${purpose}\n${value}`).digest();
  const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

  return {
    ttlMs,
    /** A new session and the cookie value that carries it: payload.signature, both base64url. */
    issue(role: Role, name: string): { session: Session; cookie: string } {
      const session: Session = {
        sid: randomBytes(18).toString('base64url'),
        role,
        name,
        exp: clock() + ttlMs,
      };
      const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
      return { session, cookie: `${payload}.${mac('session', payload).toString('base64url')}` };
    },
    /** The session a cookie carries, if its signature holds, it has not expired and was not signed out. */
    read(cookie: string | undefined): Session | undefined {
      if (!cookie) return undefined;
      const [payload, signature, extra] = cookie.split('.');
      if (!payload || !signature || extra !== undefined) return undefined;
      if (!equal(Buffer.from(signature, 'base64url'), mac('session', payload))) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return undefined;
      }
      const parsed = sessionSchema.safeParse(json);
      if (!parsed.success || parsed.data.exp <= clock() || revoked.has(parsed.data.sid)) return undefined;
      return parsed.data;
    },
    revoke(session: Session) {
      const now = clock();
      for (const [sid, exp] of revoked) if (exp <= now) revoked.delete(sid);
      revoked.set(session.sid, session.exp);
    },
    /** The token every state-changing form carries: bound to this session, useless to anyone without it. */
    csrfToken(session: Session): string {
      return mac('csrf', session.sid).toString('base64url');
    },
    checkCsrf(session: Session, token: unknown): boolean {
      if (typeof token !== 'string' || !token) return false;
      return equal(Buffer.from(token, 'base64url'), mac('csrf', session.sid));
    },
  };
}
