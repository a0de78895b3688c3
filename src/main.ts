// The composition root: config → db → migrations → plans → controller → http → serve.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { type Clock, systemClock } from './clock.ts';
import { type Config, parseConfig } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openDb } from './db/open.ts';
import { createApp } from './http/app.ts';
import { createAuthenticator } from './http/auth.ts';
import { ensureTokens } from './http/generated-tokens.ts';
import { createMetrics } from './http/ops-routes.ts';
import { createLogger, type Logger } from './log.ts';
import { loadPlanDir } from './plans/load.ts';
import { formatProblem } from './plans/validate.ts';
import { watchPlanDir } from './plans/watch.ts';
import { createController } from './rollout/controller.ts';

export const migrationsDir = fileURLToPath(new URL('./db/migrations', import.meta.url));

export class StartupError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export interface RollgateOptions {
  clock?: Clock;
  log?: Logger;
}

/** Builds the whole graph on one database file; `start` binds the port and starts the background loops. */
export function createRollgate(config: Config, opts: RollgateOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel, { service: 'rollgate' });
  const initial = loadPlanDir(config.flagsDir);
  if (!initial.ok) throw new StartupError('plans rejected', initial.problems.map(formatProblem));

  const db = openDb(config.dbFile);
  const { applied } = migrate(db, migrationsDir);
  if (applied.length) log.info('migrations applied', { applied });
  const generated = ensureTokens(config.dataDir, config.tokens);
  const auth = createAuthenticator([...config.tokens, ...generated.tokens]);
  const controller = createController({ db, clock, log });
  controller.applyPlans(initial.plans, 'plans-loader');

  let ready = true;
  const metrics = createMetrics(controller);
  const app = createApp({ controller, auth, log, metrics, flagsDir: config.flagsDir, isReady: () => ready });

  const stops: Array<() => void | Promise<void>> = [];
  return {
    app,
    db,
    controller,
    generatedTokens: generated,
    async start(): Promise<{ port: number; url: string }> {
      if (config.watch)
        stops.push(watchPlanDir(config.flagsDir, () => controller.reload(config.flagsDir, 'plans-watcher')));
      const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(s));
      });
      stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return { port, url: `http://${config.host}:${port}` };
    },
    async stop() {
      ready = false;
      for (const stop of stops.reverse()) await stop();
      db.close();
    },
  };
}

export async function main() {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    console.error(`rollgate: invalid configuration\n${parsed.problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  const { config } = parsed;
  const log = createLogger(config.logLevel, { service: 'rollgate' });
  let rollgate: ReturnType<typeof createRollgate>;
  try {
    rollgate = createRollgate(config, { log });
  } catch (err) {
    if (err instanceof StartupError) {
      console.error(`rollgate: ${err.message}\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
      process.exit(1);
    }
    throw err;
  }
  const { url } = await rollgate.start();
  const { created, file, tokens } = rollgate.generatedTokens;
  if (tokens.length) {
    log.info(created.length ? 'generated tokens' : 'using generated tokens', {
      kinds: tokens.map((t) => t.kind),
      file: path.relative(process.cwd(), file) || file,
      hint: 'read them from this owner-only file; set ROLLGATE_<KIND>_TOKENS to use your own',
    });
  }
  log.info('rollgate listening', { url, flags: rollgate.controller.listFlags().length });
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await rollgate.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
