// The service's only view of its flags: the unleash-client SDK, connected once the Unleash URL is known.
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import type { Logger } from '../log.ts';

/** The three changes in flight, each with its plan in flags/. */
export const serviceFlags = {
  schema: 'schema.ai-model',
  queue: 'queue.async-tasks',
  pricing: 'pricing.dynamic-offers',
} as const;

export interface FlagContext {
  userId?: string;
  tenantId?: string;
  /** The caller's region (X-Region), for constraints on region and for the segment outcomes are reported in. */
  region?: string | undefined;
}

export interface VariantResult {
  /** Whether the flag is on for this context (false: control). */
  featureEnabled: boolean;
  name: string;
  payload?: { type: string; value: string };
}

export interface FlagConnection {
  url: string;
  token: string;
  appName: string;
  instanceId?: string;
  refreshMs: number;
  /** How often the SDK posts exposure counts; Rollgate reads them for sample-ratio checks. */
  metricsMs: number;
  /** Where the SDK keeps its last good flags, to start from them when Rollgate is unreachable. */
  backupDir?: string;
}

export type FlagClient = ReturnType<typeof createFlagClient>;

/** Unleash context: stickiness fields other than userId travel in properties, as every SDK expects. */
const toContext = (ctx: FlagContext) => ({
  ...(ctx.userId === undefined ? {} : { userId: ctx.userId }),
  properties: {
    ...(ctx.tenantId === undefined ? {} : { tenantId: ctx.tenantId }),
    ...(ctx.region === undefined ? {} : { region: ctx.region }),
  },
});

/** Until `connect` (or before the first fetch) every flag evaluates off: the old code path is the safe default. */
export function createFlagClient(deps: { log: Logger }) {
  const { log } = deps;
  let unleash: Unleash | undefined;
  let lastError = '';

  return {
    connect(c: FlagConnection): Promise<void> {
      if (unleash) throw new Error('flag client already connected');
      const sdk = new Unleash({
        url: c.url,
        appName: c.appName,
        ...(c.instanceId ? { instanceId: c.instanceId } : {}),
        customHeaders: { Authorization: c.token },
        refreshInterval: c.refreshMs,
        metricsInterval: c.metricsMs,
        skipInstanceCountWarning: true,
        ...(c.backupDir ? { backupPath: c.backupDir } : { storageProvider: new InMemStorageProvider() }),
      });
      unleash = sdk;
      // Without a listener an EventEmitter throws on 'error'; log each distinct problem once in a row.
      sdk.on(UnleashEvents.Error, (err: Error) => {
        if (err.message === lastError) return;
        lastError = err.message;
        log.warn('flag client error; evaluating from the last known flags', { err: err.message });
      });
      sdk.on(UnleashEvents.Warn, (msg: string) => log.debug('flag client warning', { msg }));
      sdk.on(UnleashEvents.Changed, () => {
        lastError = '';
      });
      return new Promise<void>((resolve) => {
        if (sdk.isSynchronized()) resolve();
        sdk.once(UnleashEvents.Synchronized, () => resolve());
      });
    },
    isEnabled(flag: string, ctx: FlagContext): boolean {
      return unleash ? unleash.isEnabled(flag, toContext(ctx)) : false;
    },
    variant(flag: string, ctx: FlagContext): VariantResult {
      if (!unleash) return { featureEnabled: false, name: 'disabled' };
      const v = unleash.getVariant(flag, toContext(ctx));
      return {
        featureEnabled: v.feature_enabled ?? v.featureEnabled,
        name: v.name,
        ...(v.enabled && v.payload ? { payload: { type: v.payload.type, value: v.payload.value } } : {}),
      };
    },
    synchronized(): boolean {
      return unleash?.isSynchronized() ?? false;
    },
    /** The SDK itself, for callers that need its events (tests wait on fetches). */
    sdk(): Unleash | undefined {
      return unleash;
    },
    async close(): Promise<void> {
      const sdk = unleash;
      unleash = undefined;
      if (!sdk) return;
      await sdk.destroyWithFlush().catch(() => sdk.destroy());
      // unleash-client 6.12.1's destroy removes the repository's listeners, so a poll already in flight that
      // fails afterwards (the server closing next) emits 'error' with no listener: an unhandled rejection.
      (sdk as unknown as { repository?: { on(event: string, fn: () => void): void } }).repository?.on(
        UnleashEvents.Error,
        () => {},
      );
    },
  };
}
