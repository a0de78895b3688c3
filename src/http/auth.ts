// Token authentication: constant-time comparison, token kinds per route group, the actor's name for the audit log.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { Token, TokenKind } from '../config.ts';
import { AppError } from '../errors.ts';

export interface Principal {
  kind: TokenKind;
  name: string;
}

export type AuthEnv = { Variables: { principal: Principal } };

const digest = (s: string) => createHash('sha256').update(s).digest();

export type Authenticator = ReturnType<typeof createAuthenticator>;

export function createAuthenticator(tokens: Token[]) {
  // Comparing fixed-length digests keeps timingSafeEqual applicable and hides the secret's length.
  const known = tokens.map((t) => ({ kind: t.kind, name: t.name, digest: digest(t.secret) }));
  return {
    /** Every known token is compared, so the time taken does not depend on which one matched. */
    identify(secret: string): Principal | undefined {
      const d = digest(secret);
      let found: Principal | undefined;
      for (const t of known) {
        if (timingSafeEqual(d, t.digest) && !found) found = { kind: t.kind, name: t.name };
      }
      return found;
    },
  };
}

/** Accepts the token raw (as Unleash SDKs send it) or as "Bearer <token>" (as Alertmanager and curl do). */
export function tokenFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return (m?.[1] ?? header).trim() || undefined;
}

export function requireToken(auth: Authenticator, kinds: readonly TokenKind[]) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const secret = tokenFrom(c.req.header('authorization'));
    if (!secret) throw new AppError('UNAUTHORIZED', 'missing token: send it in the Authorization header');
    const principal = auth.identify(secret);
    if (!principal) throw new AppError('UNAUTHORIZED', 'invalid token');
    if (!kinds.includes(principal.kind)) {
      throw new AppError(
        'FORBIDDEN',
        `a ${principal.kind} token cannot use this endpoint (needs: ${kinds.join(' or ')})`,
      );
    }
    c.set('principal', principal);
    await next();
  });
}
