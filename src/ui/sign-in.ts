// Who a sign-in token is: an admin token (full dashboard) or a viewer token (read-only); other kinds cannot sign in.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator } from '../http/auth.ts';
import type { Role } from './session.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export type SignIn = ReturnType<typeof createSignIn>;

export function createSignIn(deps: {
  auth: Authenticator;
  viewerTokens: Array<{ name: string; secret: string }>;
}) {
  const viewers = deps.viewerTokens.map((t) => ({ name: t.name, digest: digest(t.secret) }));
  return {
    /** Compared in constant time over every viewer token, as the API's tokens are. */
    identify(token: string): { role: Role; name: string } | { refused: string } {
      const principal = deps.auth.identify(token);
      if (principal?.kind === 'admin') return { role: 'admin', name: principal.name };
      const d = digest(token);
      let viewer: string | undefined;
      for (const v of viewers) if (timingSafeEqual(d, v.digest) && viewer === undefined) viewer = v.name;
      if (viewer !== undefined) return { role: 'viewer', name: viewer };
      return principal
        ? {
            refused: `a ${principal.kind} token cannot sign in to the dashboard; use an admin or viewer token`,
          }
        : { refused: 'that token is not valid' };
    },
  };
}
