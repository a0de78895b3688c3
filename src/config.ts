// Configuration from the environment, parsed once with zod; every problem is reported together.
import path from 'node:path';
import { z } from 'zod';
import type { LogLevel } from './log.ts';
import { parseDuration } from './plans/duration.ts';

export const tokenKinds = ['admin', 'client', 'frontend', 'alert', 'ingest'] as const;
export type TokenKind = (typeof tokenKinds)[number];
export interface Token {
  kind: TokenKind;
  /** Who acts with it, as written in the audit log; never the secret. */
  name: string;
  secret: string;
}

/** The first secret of a kind: what the guarded service presents when it calls Rollgate as a client. */
export const secretFor = (tokens: readonly Token[], kind: TokenKind): string | undefined =>
  tokens.find((t) => t.kind === kind)?.secret;

const tokenList = <K extends string>(kind: K) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const entries = (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const tokens: Array<{ kind: K; name: string; secret: string }> = [];
      for (const [i, entry] of entries.entries()) {
        // "name=secret" names the actor; a bare secret gets a name derived from its position.
        const eq = entry.indexOf('=');
        const name = eq > 0 ? entry.slice(0, eq) : `${kind}-${i + 1}`;
        const secret = eq > 0 ? entry.slice(eq + 1) : entry;
        if (secret.length < 16) {
          ctx.addIssue({ code: 'custom', message: `token ${i + 1} is shorter than 16 characters` });
          continue;
        }
        tokens.push({ kind, name, secret });
      }
      return tokens;
    });

const duration = (fallback: string, min: string) =>
  z
    .string()
    .default(fallback)
    .transform((raw, ctx) => {
      const ms = parseDuration(raw);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${raw}" is not a duration such as 5s, 10m or 1h` });
        return z.NEVER;
      }
      if (ms < (parseDuration(min) ?? 0)) {
        ctx.addIssue({ code: 'custom', message: `"${raw}" is shorter than the minimum ${min}` });
        return z.NEVER;
      }
      return ms;
    });

/** A duration checked as `duration` checks it, or off (unset or "off"): undefined. */
const optionalDuration = (min: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === 'off') return undefined;
      const parsed = duration(raw, min).safeParse(raw);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      return z.NEVER;
    });

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes', 'on'].includes(v)));

const urlList = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const urls = (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const u of urls) {
      if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) {
        // The URL may carry a secret (a webhook path, user:password@, a query token): name its position only.
        ctx.addIssue({ code: 'custom', message: `URL ${urls.indexOf(u) + 1} is not an http(s) URL` });
      }
    }
    return urls;
  });

export const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4242),
  ROLLGATE_FLAGS_DIR: z.string().min(1).default('./flags'),
  ROLLGATE_DATA_DIR: z.string().min(1).default('./data'),
  ROLLGATE_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 letters, digits, dots, colons, dashes or underscores')
    .optional(),
  ROLLGATE_DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  ROLLGATE_ADMIN_TOKENS: tokenList('admin'),
  ROLLGATE_CLIENT_TOKENS: tokenList('client'),
  ROLLGATE_FRONTEND_TOKENS: tokenList('frontend'),
  ROLLGATE_ALERT_TOKENS: tokenList('alert'),
  ROLLGATE_INGEST_TOKENS: tokenList('ingest'),
  // Dashboard: read-only sign-in tokens (never generated), and the session signing key and lifetime.
  ROLLGATE_VIEWER_TOKENS: tokenList('viewer'),
  ROLLGATE_SESSION_SECRET: z.string().min(32).optional(),
  ROLLGATE_SESSION_TTL: duration('12h', '1m'),
  ROLLGATE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  ROLLGATE_WATCH: bool(true),
  ROLLGATE_TICK_INTERVAL: duration('5s', '100ms'),
  ROLLGATE_NOTIFY_URLS: urlList,
  ROLLGATE_NOTIFY_SECRET: z.string().min(16).optional(),
  ROLLGATE_SIGNAL_RETENTION: duration('30d', '1h'),
  ROLLGATE_SIGNAL_RAW_RETENTION: duration('2d', '1h'),
  ROLLGATE_SIGNAL_STALE: duration('5m', '1m'),
  ROLLGATE_SIGNAL_HISTORY: duration('24h', '0'),
  ROLLGATE_SIGNAL_SETTLE: duration('2m', '0'),
  ROLLGATE_IDEMPOTENCY_WINDOW: duration('24h', '1m'),
  ROLLGATE_EVENT_RETENTION: duration('90d', '1d'),
  ROLLGATE_ALERT_RETENTION: duration('30d', '1d'),
  ROLLGATE_ALERT_FIRING_TTL: duration('24h', '1m'),
  ROLLGATE_ALLOW_MASS_REMOVAL: bool(false),
  ROLLGATE_AUDIT_INTERVAL: duration('1h', '1m'),
  ROLLGATE_REQUEST_TIMEOUT: duration('30s', '1s'),
  ROLLGATE_SERVICE: z.enum(['on', 'off', 'only']).default('on'),
  ROLLGATE_SERVICE_UNLEASH_URL: z.url({ protocol: /^https?$/ }).optional(),
  ROLLGATE_SERVICE_QUEUE_RETENTION: duration('7d', '1h'),
  ROLLGATE_SERVICE_QUEUE_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  ROLLGATE_PROMETHEUS_URL: z.url({ protocol: /^https?$/ }).optional(),
  ROLLGATE_PROMETHEUS_BEARER_TOKEN_FILE: z.string().min(1).optional(),
  ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE: z.string().min(1).optional(),
  ROLLGATE_PROMETHEUS_STEP: duration('1m', '1s'),
  ROLLGATE_PROMETHEUS_DELAY: duration('30s', '0'),
  ROLLGATE_PROMETHEUS_TIMEOUT: duration('10s', '100ms'),
  ROLLGATE_PROMETHEUS_MAX_SERIES: z.coerce.number().int().min(1).max(10_000).default(100),
  // Scheduled rollback drills: off unless set.
  ROLLGATE_DRILL_INTERVAL: optionalDuration('5m'),
  // The SDK instance registry's bounds: anyone with a client token can invent instance ids.
  ROLLGATE_SDK_MAX_INSTANCES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  ROLLGATE_SDK_MAX_INSTANCES_PER_APP: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  ROLLGATE_SDK_INSTANCE_RETENTION: duration('30d', '1h'),
});

export interface Config {
  host: string;
  port: number;
  flagsDir: string;
  dataDir: string;
  dbFile: string;
  /** PostgreSQL instead of the SQLite file: several replicas can share it. Holds a password: log it redacted. */
  databaseUrl: string | undefined;
  /** How this process names itself among replicas; hostname:pid when unset. */
  replicaId: string | undefined;
  tokens: Token[];
  logLevel: LogLevel | 'silent';
  watch: boolean;
  tickIntervalMs: number;
  notify: { urls: string[]; secret: string | undefined };
  signals: {
    retentionMs: number;
    rawRetentionMs: number;
    staleAfterMs: number;
    historyMs: number;
    /** A minute is folded for good once it ended this long ago; signals for it after that are late. */
    settleMs: number;
    /** A repeat of a keyed signal batch within this window is answered again and stored nothing. */
    idempotencyWindowMs: number;
  };
  retention: { eventsMs: number; alertsMs: number };
  alerts: { firingTtlMs: number };
  /** How often the scheduled audit runs (stored, and notified when a gate newly fails). */
  audit: { intervalMs: number };
  /** Whether a plan reload may remove every flag, or more than half of them. */
  allowMassRemoval: boolean;
  /** A request whose headers and body have not fully arrived by then is cut off. */
  requestTimeoutMs: number;
  service: {
    mode: 'on' | 'off' | 'only';
    unleashUrl: string | undefined;
    queueUrl: string | undefined;
    /** Finished queue entries are forgotten this long after they settled. */
    queueRetentionMs: number;
  };
  /** The dashboard: viewer tokens sign in read-only; without a secret the key lives in data/session.key. */
  ui: {
    viewerTokens: Array<{ name: string; secret: string }>;
    sessionSecret: string | undefined;
    sessionTtlMs: number;
  };
  prometheus: {
    url: string | undefined;
    bearerTokenFile: string | undefined;
    basicAuthFile: string | undefined;
    stepMs: number;
    delayMs: number;
    timeoutMs: number;
    maxSeries: number;
  };
  /** How often a rollback drill runs on its own; undefined: only when asked (rollgate drill). */
  drill: { intervalMs: number | undefined };
  /** Bounds of the SDK instance registry (in memory and the sdk_instances table). */
  sdk: { maxInstances: number; maxInstancesPerApp: number; retentionMs: number };
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export function parseConfig(env: Record<string, string | undefined>, cwd = process.cwd()): ConfigResult {
  // Empty strings mean "unset", as shells and compose files often leave them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`),
    };
  }
  const e = parsed.data;
  const problems = crossCheck(e);
  if (problems.length) return { ok: false, problems };
  const dataDir = path.resolve(cwd, e.ROLLGATE_DATA_DIR);
  return {
    ok: true,
    config: {
      host: e.HOST,
      port: e.PORT,
      flagsDir: path.resolve(cwd, e.ROLLGATE_FLAGS_DIR),
      dataDir,
      dbFile: path.join(dataDir, 'rollgate.db'),
      databaseUrl: e.ROLLGATE_DATABASE_URL,
      replicaId: e.ROLLGATE_REPLICA_ID,
      tokens: [
        ...e.ROLLGATE_ADMIN_TOKENS,
        ...e.ROLLGATE_CLIENT_TOKENS,
        ...e.ROLLGATE_FRONTEND_TOKENS,
        ...e.ROLLGATE_ALERT_TOKENS,
        ...e.ROLLGATE_INGEST_TOKENS,
      ],
      logLevel: e.ROLLGATE_LOG_LEVEL,
      watch: e.ROLLGATE_WATCH,
      tickIntervalMs: e.ROLLGATE_TICK_INTERVAL,
      notify: { urls: e.ROLLGATE_NOTIFY_URLS, secret: e.ROLLGATE_NOTIFY_SECRET },
      signals: {
        retentionMs: e.ROLLGATE_SIGNAL_RETENTION,
        rawRetentionMs: e.ROLLGATE_SIGNAL_RAW_RETENTION,
        staleAfterMs: e.ROLLGATE_SIGNAL_STALE,
        historyMs: e.ROLLGATE_SIGNAL_HISTORY,
        settleMs: e.ROLLGATE_SIGNAL_SETTLE,
        idempotencyWindowMs: e.ROLLGATE_IDEMPOTENCY_WINDOW,
      },
      retention: { eventsMs: e.ROLLGATE_EVENT_RETENTION, alertsMs: e.ROLLGATE_ALERT_RETENTION },
      alerts: { firingTtlMs: e.ROLLGATE_ALERT_FIRING_TTL },
      audit: { intervalMs: e.ROLLGATE_AUDIT_INTERVAL },
      allowMassRemoval: e.ROLLGATE_ALLOW_MASS_REMOVAL,
      requestTimeoutMs: e.ROLLGATE_REQUEST_TIMEOUT,
      service: {
        mode: e.ROLLGATE_SERVICE,
        unleashUrl: e.ROLLGATE_SERVICE_UNLEASH_URL,
        queueUrl: e.ROLLGATE_SERVICE_QUEUE_URL,
        queueRetentionMs: e.ROLLGATE_SERVICE_QUEUE_RETENTION,
      },
      ui: {
        viewerTokens: e.ROLLGATE_VIEWER_TOKENS.map(({ name, secret }) => ({ name, secret })),
        sessionSecret: e.ROLLGATE_SESSION_SECRET,
        sessionTtlMs: e.ROLLGATE_SESSION_TTL,
      },
      prometheus: {
        url: e.ROLLGATE_PROMETHEUS_URL,
        bearerTokenFile: e.ROLLGATE_PROMETHEUS_BEARER_TOKEN_FILE,
        basicAuthFile: e.ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE,
        stepMs: e.ROLLGATE_PROMETHEUS_STEP,
        delayMs: e.ROLLGATE_PROMETHEUS_DELAY,
        timeoutMs: e.ROLLGATE_PROMETHEUS_TIMEOUT,
        maxSeries: e.ROLLGATE_PROMETHEUS_MAX_SERIES,
      },
      drill: { intervalMs: e.ROLLGATE_DRILL_INTERVAL },
      sdk: {
        maxInstances: e.ROLLGATE_SDK_MAX_INSTANCES,
        maxInstancesPerApp: e.ROLLGATE_SDK_MAX_INSTANCES_PER_APP,
        retentionMs: e.ROLLGATE_SDK_INSTANCE_RETENTION,
      },
    },
  };
}

/** Settings each valid alone but contradictory together. */
function crossCheck(e: z.output<typeof envSchema>): string[] {
  const problems: string[] = [];
  // A pulled step is stored once it is delay past its end: before then its minutes must not be folded for good.
  if (
    e.ROLLGATE_PROMETHEUS_URL &&
    e.ROLLGATE_SIGNAL_SETTLE < e.ROLLGATE_PROMETHEUS_STEP + e.ROLLGATE_PROMETHEUS_DELAY
  ) {
    problems.push(
      'ROLLGATE_SIGNAL_SETTLE: must be at least ROLLGATE_PROMETHEUS_STEP + ROLLGATE_PROMETHEUS_DELAY, or every pulled minute would arrive late',
    );
  }
  if (e.ROLLGATE_SIGNAL_SETTLE >= e.ROLLGATE_SIGNAL_RAW_RETENTION) {
    problems.push('ROLLGATE_SIGNAL_SETTLE: must be shorter than ROLLGATE_SIGNAL_RAW_RETENTION');
  }
  if (e.ROLLGATE_SIGNAL_RAW_RETENTION > e.ROLLGATE_SIGNAL_RETENTION) {
    problems.push('ROLLGATE_SIGNAL_RAW_RETENTION: must not exceed ROLLGATE_SIGNAL_RETENTION');
  }
  if (e.ROLLGATE_PROMETHEUS_BEARER_TOKEN_FILE && e.ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE) {
    problems.push('ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE: set a bearer token file or basic auth, not both');
  }
  if (e.ROLLGATE_SDK_MAX_INSTANCES_PER_APP > e.ROLLGATE_SDK_MAX_INSTANCES) {
    problems.push('ROLLGATE_SDK_MAX_INSTANCES_PER_APP: must not exceed ROLLGATE_SDK_MAX_INSTANCES');
  }
  const promUrl = e.ROLLGATE_PROMETHEUS_URL ? new URL(e.ROLLGATE_PROMETHEUS_URL) : undefined;
  // Credentials in the URL would end up in error messages, hold reasons and logs.
  if (promUrl && (promUrl.username || promUrl.password)) {
    problems.push(
      'ROLLGATE_PROMETHEUS_URL: put credentials in ROLLGATE_PROMETHEUS_BASIC_AUTH_FILE, not the URL',
    );
  }
  const step = e.ROLLGATE_PROMETHEUS_STEP;
  // Steps tile minutes exactly, so every read lands whole in minute buckets.
  if (60_000 % step !== 0 && step % 60_000 !== 0) {
    problems.push('ROLLGATE_PROMETHEUS_STEP: must divide a minute (1s, 5s, 30s) or be whole minutes');
  }
  const kindOf = new Map<string, TokenKind | 'viewer'>();
  for (const t of [
    ...e.ROLLGATE_ADMIN_TOKENS,
    ...e.ROLLGATE_CLIENT_TOKENS,
    ...e.ROLLGATE_FRONTEND_TOKENS,
    ...e.ROLLGATE_ALERT_TOKENS,
    ...e.ROLLGATE_INGEST_TOKENS,
    ...e.ROLLGATE_VIEWER_TOKENS,
  ]) {
    const other = kindOf.get(t.secret);
    // The same secret under two kinds would silently act as whichever kind is listed first.
    if (other && other !== t.kind) {
      problems.push(
        `ROLLGATE_${t.kind.toUpperCase()}_TOKENS: a token is also configured as an ${other} token`,
      );
    }
    kindOf.set(t.secret, t.kind);
  }
  return problems;
}
