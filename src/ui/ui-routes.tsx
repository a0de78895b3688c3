// The dashboard's routes under /ui: sign-in, the two pages, actions behind a session and a CSRF token, the live stream.
import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { z } from 'zod';
import type { StoredAuditRun } from '../audit/audit-store.ts';
import { AppError } from '../errors.ts';
import type { FlagHealth } from '../health/flag-health.ts';
import type { Logger } from '../log.ts';
import { decideAction, type RolloutAction, rolloutActions } from '../rollout/actions.ts';
import type { Controller } from '../rollout/controller.ts';
import { uiAssets } from './assets.ts';
import { AuditPage } from './audit-page.tsx';
import { FlagLive, FlagPage, type UiAction } from './flag-page.tsx';
import { FlagsPage } from './flags-page.tsx';
import { Layout } from './layout.tsx';
import { createLiveHub } from './live.ts';
import { createPageData } from './page-data.tsx';
import type { Session, Sessions } from './session.ts';
import type { SignIn } from './sign-in.ts';
import { LoginPage, MessagePage } from './sign-in-page.tsx';

export const sessionCookie = 'rollgate_session';

type UiEnv = { Variables: { session: Session } };

const actionForm = z.strictObject({
  _csrf: z.string(),
  // An empty field is no reason; the API takes the same 1–1000 characters.
  reason: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string().trim().max(1000).optional(),
  ),
  to: z.enum(['next', 'full']).optional(),
});
const uiActions = [...rolloutActions, 'disable', 'enable'] as const;

export function createUiRoutes(deps: {
  controller: Controller;
  flagHealth: FlagHealth;
  sessions: Sessions;
  signIn: SignIn;
  log: Logger;
  /** The latest stored audit run, shown at /ui/audit. */
  latestAudit?: () => StoredAuditRun | null;
}) {
  const { controller, flagHealth, sessions } = deps;
  const app = new Hono<UiEnv>();
  const page = (title: string, body: unknown, session?: Session) =>
    `<!doctype html>${(
      (
        <Layout title={title} session={session} csrf={session ? sessions.csrfToken(session) : ''}>
          {body as never}
        </Layout>
      )
    ).toString()}`;

  const { verdictOf, row, pageData } = createPageData({ controller, flagHealth, sessions });
  const live = createLiveHub({ controller, render: row, log: deps.log });

  // Pages never cached, never framed, scripts and styles only from here.
  app.use(async (c, next) => {
    await next();
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  // A form posted from another site (the browser says so in Sec-Fetch-Site) is refused before anything else,
  // sign-in included: nobody can be signed in, or act, from someone else's page.
  app.use(async (c, next) => {
    if (c.req.method === 'POST' && c.req.header('sec-fetch-site') === 'cross-site')
      return c.html(
        page('Refused', <MessagePage title="Refused" text="A form from another site cannot act here." />),
        403,
      );
    await next();
  });

  app.get('/assets/:file', (c) => {
    const asset = uiAssets[c.req.param('file')];
    if (!asset) return c.text('not found', 404);
    c.header('Content-Type', asset.type);
    c.header('Cache-Control', 'no-cache');
    return c.body(asset.body);
  });

  app.get('/login', (c) => {
    if (sessions.read(getCookie(c, sessionCookie))) return c.redirect('/ui', 303);
    return c.html(page('Sign in', <LoginPage />));
  });

  app.post('/login', async (c) => {
    const form = z.object({ token: z.string().trim().min(1).max(4096) }).safeParse(await c.req.parseBody());
    if (!form.success)
      return c.html(page('Sign in', <LoginPage error="enter a token: the field is empty" />), 400);
    const who = deps.signIn.identify(form.data.token);
    if ('refused' in who) return c.html(page('Sign in', <LoginPage error={who.refused} />), 401);
    const { cookie } = sessions.issue(who.role, who.name);
    setCookie(c, sessionCookie, cookie, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/ui',
      secure: new URL(c.req.url).protocol === 'https:',
      maxAge: Math.floor(sessions.ttlMs / 1000),
    });
    return c.redirect('/ui', 303);
  });

  // Everything below needs a session; pages send people to sign in, anything else is refused.
  app.use(
    createMiddleware<UiEnv>(async (c, next) => {
      const session = sessions.read(getCookie(c, sessionCookie));
      if (!session) {
        if (c.req.method === 'GET' && !c.req.path.endsWith('/stream') && !c.req.path.endsWith('/live'))
          return c.redirect('/ui/login', 303);
        return c.html(
          page(
            'Sign in first',
            <MessagePage
              title="Sign in first"
              text="This needs a dashboard session: sign in with an admin token."
            />,
          ),
          401,
        );
      }
      c.set('session', session);
      await next();
    }),
  );

  // State-changing forms carry the session's CSRF token; a forged or missing one changes nothing.
  const checked = async (c: Context<UiEnv>) => {
    const body = await c.req.parseBody();
    const session = c.var.session;
    if (!sessions.checkCsrf(session, body._csrf))
      return {
        refused: c.html(
          page(
            'Refused',
            <MessagePage
              title="Refused"
              text="The form's security token did not match this session, so nothing was done. Reload the page and try again."
            />,
            session,
          ),
          403,
        ),
      };
    return { body };
  };

  app.post('/logout', async (c) => {
    const r = await checked(c);
    if ('refused' in r) return r.refused;
    sessions.revoke(c.var.session);
    live.endSession(c.var.session.sid);
    deleteCookie(c, sessionCookie, { path: '/ui' });
    return c.redirect('/ui/login', 303);
  });

  app.get('/', (c) => {
    const phase = c.req.query('phase') || undefined;
    const lines = controller.listFlags().map((flag) => ({ flag, verdict: verdictOf(flag) }));
    return c.html(
      page('Flags', <FlagsPage lines={lines} now={controller.clock()} phase={phase} />, c.var.session),
    );
  });

  app.get('/audit', (c) =>
    c.html(page('Audit', <AuditPage run={deps.latestAudit?.() ?? null} />, c.var.session)),
  );

  app.get('/stream', (c) =>
    live.open(c, { sid: c.var.session.sid, endsInMs: c.var.session.exp - controller.clock() }),
  );

  app.get('/flags/:name', (c) => {
    const flag = controller.getFlag(c.req.param('name'));
    if (!flag)
      return c.html(
        page(
          'Not found',
          <MessagePage title="Not found" text={`There is no flag named "${c.req.param('name')}".`} />,
          c.var.session,
        ),
        404,
      );
    return c.html(page(flag.plan.name, <FlagPage {...pageData(flag, c.var.session)} />, c.var.session));
  });

  app.get('/flags/:name/live', (c) => {
    const flag = controller.getFlag(c.req.param('name'));
    if (!flag) return c.text('not found', 404);
    return c.html((<FlagLive {...pageData(flag, c.var.session)} />).toString());
  });

  app.post('/flags/:name/actions/:action', async (c) => {
    const r = await checked(c);
    if ('refused' in r) return r.refused;
    const session = c.var.session;
    const name = c.req.param('name');
    const action = c.req.param('action') as UiAction;
    const flag = controller.getFlag(name);
    if (!flag || !(uiActions as readonly string[]).includes(action))
      return c.html(
        page(
          'Not found',
          <MessagePage title="Not found" text={`No flag "${name}" or no action "${action}".`} />,
          session,
        ),
        404,
      );
    if (session.role !== 'admin')
      return c.html(
        page(
          flag.plan.name,
          <FlagPage
            {...pageData(flag, session, 'This session is read-only (viewer): actions need an admin token.')}
          />,
          session,
        ),
        403,
      );
    const form = actionForm.safeParse(r.body);
    if (!form.success) {
      const issue = form.error.issues[0];
      return c.html(
        page(
          flag.plan.name,
          <FlagPage {...pageData(flag, session, `${issue?.path.join('.') || 'form'}: ${issue?.message}`)} />,
          session,
        ),
        400,
      );
    }
    const actor = `${session.name} (dashboard)`;
    const { reason, to } = form.data;
    try {
      if (action === 'enable' || action === 'disable')
        controller.setEnabled(name, action === 'enable', actor, reason);
      else
        controller.transition(name, actor, (current) =>
          decideAction(
            current,
            action as RolloutAction,
            { reason, to: action === 'promote' ? to : undefined },
            controller.clock(),
          ),
        );
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'CONFLICT') throw err;
      const now = controller.getFlag(name) ?? flag;
      return c.html(
        page(flag.plan.name, <FlagPage {...pageData(now, session, err.message)} />, session),
        409,
      );
    }
    return c.redirect(`/ui/flags/${encodeURIComponent(name)}`, 303);
  });

  // Mounted as a plain app: its session variable is its own business.
  return { app: new Hono().route('/', app), live };
}
