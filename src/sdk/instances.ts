// Every SDK instance seen on the client API: what it last fetched and when. Updated in memory on the hot path,
// flushed to the database periodically, bounded in both: names validated, instances capped per app and in all,
// one-request ids and the long unseen forgotten.
import type { IncomingHttpHeaders } from 'node:http';
import type { SqlDb } from '../db/sql.ts';
import type { Logger } from '../log.ts';

export type Connection = 'poll' | 'stream';

export interface SdkInstance {
  appName: string;
  instanceId: string;
  sdkVersion: string | null;
  /** How it last fetched: polling (features or delta) or an open stream. */
  connection: Connection | null;
  /** The poll interval it announces (`unleash-interval` on polls). */
  refreshIntervalMs: number | null;
  /** The `interval` of its register body: unleash-client sends its metrics interval there. */
  metricsIntervalMs: number | null;
  startedAt: number | null;
  namePrefix: string | null;
  firstSeen: number;
  lastSeen: number;
  /** Requests it made (polls, register, metrics, streams opened): at least two before the audit judges it. */
  requests: number;
  /** The last poll answered (200 or 304 on its current ETag) or push written to its stream. */
  lastFetchAt: number | null;
  /** The served revision it holds since that fetch. */
  revision: number | null;
  /** When it first held that revision. */
  heldSince: number | null;
  etag: string | null;
  streamOpen: boolean;
}

/**
 * Bounds against hostile or broken senders. Anyone holding a client token can name as many instances as they
 * like; these keep what that costs (memory, rows, audit checks) fixed. `maxInstances`, `maxInstancesPerApp` and
 * `retentionMs` are set from the environment (ROLLGATE_SDK_MAX_INSTANCES, …_PER_APP, ROLLGATE_SDK_INSTANCE_RETENTION).
 */
export const instanceLimits = {
  maxInstances: 10_000,
  /** One app name cannot take more than this share of the registry: a flood under one name spares the others. */
  maxInstancesPerApp: 1_000,
  maxNameLength: 100,
  maxVersionLength: 60,
  /** Instances not seen for this long are forgotten, in memory and in the table. */
  retentionMs: 30 * 86_400_000,
  /** An instance seen on a single request is forgotten once it has not been seen again for this long. */
  probationMs: 3_600_000,
  /**
   * A proven instance seen within this long is never replaced by a new id: when its app (or the registry) is
   * full of those, the new id is refused. An hour, as the audit's window for instances that count.
   */
  activeMs: 3_600_000,
  /**
   * Rows written per periodic flush: 10,000 instances would hold the event loop for about 60 ms (250 ms on a
   * loaded machine) in one go; the rest wait for the next flush (the registry in memory is what is read).
   */
  maxFlushRows: 1000,
  /** Refusals and replacements are logged (as counts) at most this often. */
  logEveryMs: 60_000,
};

export type InstanceLimits = typeof instanceLimits;

/**
 * Requests an instance must have made before the audit and drills judge it. unleash-client registers and polls
 * at start (two requests within a second); an id invented for one request is never judged, so a flood of them
 * cannot fail the SDK-reach gate.
 */
export const provenRequests = 2;
/** Two requests or more, or a stream it holds open now (a streaming SDK without metrics makes one request). */
export const isProven = (i: Pick<SdkInstance, 'requests' | 'streamOpen'>) =>
  i.requests >= provenRequests || i.streamOpen;

/**
 * App names and instance ids as SDKs make them (unleash-client: `user-hostname`, pod names, UUIDs): letters,
 * digits and `._:@/+=#~-`, spaces inside; at most maxNameLength. Anything else is not registered (the request
 * itself is answered as usual).
 */
export const identityPattern = /^[A-Za-z0-9](?:[A-Za-z0-9 ._:@/+=#~-]*[A-Za-z0-9._:@/+=#~-])?$/;
export const isIdentity = (s: string, max = instanceLimits.maxNameLength) =>
  s.length <= max && identityPattern.test(s);

/** Why a new id was not registered: a malformed name, its app full, or the registry full, of active instances. */
export const refusalReasons = ['invalid', 'app_full', 'registry_full'] as const;
/**
 * Why an instance was dropped: replaced by a new id while unproven (one request) or idle (longer than activeMs),
 * forgotten after probationMs unproven, or after retentionMs unseen.
 */
export const evictionReasons = ['unproven', 'idle', 'probation', 'retention'] as const;
export type RefusalReason = (typeof refusalReasons)[number];
export type EvictionReason = (typeof evictionReasons)[number];

export interface RegistryStats {
  instances: number;
  unproven: number;
  apps: number;
  refused: Record<RefusalReason, number>;
  evicted: Record<EvictionReason, number>;
}

/** A header or body string cut to `max` characters; anything that is not a string is nothing. */
export function cut(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return value.length > max ? value.slice(0, max) : value;
}

/** Printable ASCII only, as it will be shown in a terminal and a dashboard: everything else becomes "?". */
const unprintable = /[^\x20-\x7e]/;
const printable = (s: string) => (unprintable.test(s) ? s.replace(/[^\x20-\x7e]/g, '?') : s);

/** A positive whole number of milliseconds up to a day, or nothing (unleash-client sends "undefined" on streams). */
export function intervalOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n > 0 && n <= 86_400_000 ? n : undefined;
}

/** Node's parsed headers (the fast path, streams) or a fetch Headers (Hono routes): names in lower case. */
export type HeaderSource = IncomingHttpHeaders | Headers;

const headerOf = (headers: HeaderSource, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
};

/** A non-empty string as sent (not cut: a cut id would be a different, valid-looking one). */
const given = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

export type SdkRegistry = ReturnType<typeof createSdkRegistry>;

interface App {
  /** This app's instances, in recency order like the registry's. */
  members: Map<string, SdkInstance>;
  /** Those seen on one request only, first seen first: the first replaced when the app is full. */
  unproven: Map<string, SdkInstance>;
}

/**
 * The registry. `fetched` runs on every poll (fast path included): a map lookup and a few field writes, with
 * allocation only when an instance is first seen or changes revision; a new id is validated once, when it is
 * first seen. Map order is recency: an instance moves to the end when seen, so the first entry is the one seen
 * longest ago.
 *
 * When an app (or the whole registry) is full, a new id replaces the oldest instance seen on one request only,
 * else the least recently seen one if it has been idle for `activeMs`; when every instance is proven and active,
 * the new id is refused. Replacing always would let a flood of invented ids push real SDKs out (they would come
 * back on their next poll, but without their history, and a drill would lose them); refusing always would let the
 * flood lock out a new deployment until retention. This way fakes only displace fakes and the long gone.
 */
export function createSdkRegistry(deps: {
  now: () => number;
  limits?: Partial<InstanceLimits>;
  log?: Logger;
}) {
  const limits = { ...instanceLimits, ...deps.limits };
  const { now, log } = deps;
  const byKey = new Map<string, SdkInstance>();
  const apps = new Map<string, App>();
  /** Every instance seen on one request only, first seen first. */
  const unproven = new Map<string, SdkInstance>();
  const dirty = new Set<SdkInstance>();
  const evicted: Array<{ appName: string; instanceId: string }> = [];
  const revisionListeners = new Set<(instance: SdkInstance) => void>();
  const refused = Object.fromEntries(refusalReasons.map((r) => [r, 0])) as Record<RefusalReason, number>;
  const dropped = Object.fromEntries(evictionReasons.map((r) => [r, 0])) as Record<EvictionReason, number>;
  let logged = { at: Number.NEGATIVE_INFINITY, total: 0 };

  const keyOf = (appName: string, instanceId: string) => `${appName}\n${instanceId}`;

  const remove = (instance: SdkInstance, reason: EvictionReason | null) => {
    const key = keyOf(instance.appName, instance.instanceId);
    byKey.delete(key);
    unproven.delete(key);
    const app = apps.get(instance.appName);
    app?.members.delete(key);
    app?.unproven.delete(key);
    if (app && !app.members.size) apps.delete(instance.appName);
    dirty.delete(instance);
    evicted.push({ appName: instance.appName, instanceId: instance.instanceId });
    if (reason) dropped[reason] += 1;
  };

  /** Frees one place among `members` (the app's or the registry's) for a new id; false when none may go. */
  const makeRoom = (members: Map<string, SdkInstance>, fakes: Map<string, SdkInstance>, at: number) => {
    const fake = fakes.values().next();
    if (!fake.done) {
      remove(fake.value, 'unproven');
      return true;
    }
    const oldest = members.values().next();
    if (!oldest.done && oldest.value.lastSeen < at - limits.activeMs) {
      remove(oldest.value, 'idle');
      return true;
    }
    return false;
  };

  /** Adds an instance (validated names) if its app and the registry have room; the reason it was refused if not. */
  const admit = (instance: SdkInstance, at: number): RefusalReason | null => {
    const key = keyOf(instance.appName, instance.instanceId);
    const app = apps.get(instance.appName);
    if (app && app.members.size >= limits.maxInstancesPerApp && !makeRoom(app.members, app.unproven, at))
      return 'app_full';
    if (byKey.size >= limits.maxInstances && !makeRoom(byKey, unproven, at)) return 'registry_full';
    byKey.set(key, instance);
    let into = apps.get(instance.appName);
    if (!into) {
      into = { members: new Map(), unproven: new Map() };
      apps.set(instance.appName, into);
    }
    into.members.set(key, instance);
    if (instance.requests < provenRequests && !instance.streamOpen) {
      unproven.set(key, instance);
      into.unproven.set(key, instance);
    }
    return null;
  };

  /**
   * The instance named by appName/instanceId (as sent), created if new, valid and there is room; undefined if
   * not. `request`: the SDK itself asked (a poll, register, metrics, a stream opening), not a push to it.
   */
  const touch = (appName: string, instanceId: string, at: number, request: boolean) => {
    const key = keyOf(appName, instanceId);
    let instance = byKey.get(key);
    if (instance) {
      // Moved to the end at most once a second: recency for eviction without a delete and set per poll.
      if (at - instance.lastSeen >= 1000) {
        byKey.delete(key);
        byKey.set(key, instance);
        const members = apps.get(appName)?.members;
        members?.delete(key);
        members?.set(key, instance);
      }
      instance.lastSeen = at;
      if (request && instance.requests < Number.MAX_SAFE_INTEGER) {
        instance.requests += 1;
        if (instance.requests === provenRequests) {
          unproven.delete(key);
          apps.get(appName)?.unproven.delete(key);
        }
      }
      dirty.add(instance);
      return instance;
    }
    if (!isIdentity(appName, limits.maxNameLength) || !isIdentity(instanceId, limits.maxNameLength)) {
      refused.invalid += 1;
      return undefined;
    }
    instance = {
      appName,
      instanceId,
      sdkVersion: null,
      connection: null,
      refreshIntervalMs: null,
      metricsIntervalMs: null,
      startedAt: null,
      namePrefix: null,
      firstSeen: at,
      lastSeen: at,
      requests: request ? 1 : 0,
      lastFetchAt: null,
      revision: null,
      heldSince: null,
      etag: null,
      streamOpen: false,
    };
    const refusal = admit(instance, at);
    if (refusal) {
      refused[refusal] += 1;
      return undefined;
    }
    dirty.add(instance);
    return instance;
  };

  /** appName and instanceId from unleash-client's headers, as sent; undefined without an instance id. */
  const identityOf = (headers: HeaderSource) => {
    const instanceId = given(headerOf(headers, 'unleash-instanceid'));
    if (!instanceId) return undefined;
    return { appName: given(headerOf(headers, 'unleash-appname')) ?? 'unknown', instanceId };
  };

  const stats = (): RegistryStats => ({
    instances: byKey.size,
    unproven: unproven.size,
    apps: apps.size,
    refused: { ...refused },
    evicted: { ...dropped },
  });

  return {
    /**
     * A poll (features or delta) answered 200 or 304, or a push written to a stream: the instance now holds
     * `revision`. Requests without an instance id (curl, load generators) are not instances and are not kept.
     */
    fetched(
      headers: HeaderSource,
      revision: number,
      etag: string,
      connection: Connection,
      namePrefix?: string,
    ): void {
      // No identity object, no options object: two header reads and a map lookup per poll.
      const instanceId = given(headerOf(headers, 'unleash-instanceid'));
      if (!instanceId) return;
      const appName = given(headerOf(headers, 'unleash-appname')) ?? 'unknown';
      const at = now();
      const instance = touch(appName, instanceId, at, connection === 'poll');
      if (!instance) return;
      if (connection === 'poll') {
        if (instance.refreshIntervalMs === null)
          instance.refreshIntervalMs = intervalOf(headerOf(headers, 'unleash-interval')) ?? null;
        if (namePrefix !== undefined || instance.namePrefix !== null)
          instance.namePrefix = namePrefix ? printable(cut(namePrefix, limits.maxNameLength) ?? '') : null;
      }
      if (instance.sdkVersion === null) {
        const sdk = cut(headerOf(headers, 'unleash-sdk'), limits.maxVersionLength);
        if (sdk) instance.sdkVersion = printable(sdk);
      }
      instance.lastFetchAt = at;
      instance.connection = connection;
      if (instance.revision !== revision) {
        instance.revision = revision;
        instance.heldSince = at;
        instance.etag = etag;
        for (const listener of revisionListeners) listener(instance);
      }
    },
    /** A stream opened or closed (its pushes arrive through `fetched`). */
    streaming(headers: HeaderSource, open: boolean): void {
      const id = identityOf(headers);
      if (!id) return;
      const instance = touch(id.appName, id.instanceId, now(), open);
      if (!instance) return;
      instance.streamOpen = open;
      if (open) instance.connection = 'stream';
      // A stream held open is proof enough (it takes one of the server's few stream places): it is not replaced
      // while open, and is unproven again once closed if it made fewer than two requests in all.
      const key = keyOf(instance.appName, instance.instanceId);
      const app = apps.get(instance.appName);
      if (open) {
        unproven.delete(key);
        app?.unproven.delete(key);
      } else if (instance.requests < provenRequests) {
        unproven.set(key, instance);
        app?.unproven.set(key, instance);
      }
    },
    /** Register or metrics: the body names the instance (and, for register, its version, interval and start). */
    seen(
      headers: HeaderSource,
      body: Record<string, unknown>,
      kind: 'register' | 'metrics',
    ): SdkInstance | undefined {
      const fromHeaders = identityOf(headers);
      const instanceId = given(body.instanceId) ?? fromHeaders?.instanceId;
      if (!instanceId) return undefined;
      const appName = given(body.appName) ?? fromHeaders?.appName ?? 'unknown';
      const instance = touch(appName, instanceId, now(), true);
      if (!instance) return undefined;
      const version =
        cut(body.sdkVersion, limits.maxVersionLength) ??
        cut(headerOf(headers, 'unleash-sdk'), limits.maxVersionLength);
      if (version) instance.sdkVersion = printable(version);
      if (kind === 'register') {
        instance.metricsIntervalMs = intervalOf(body.interval) ?? instance.metricsIntervalMs;
        const started = typeof body.started === 'string' ? Date.parse(body.started) : Number.NaN;
        if (Number.isFinite(started)) instance.startedAt = started;
      }
      return instance;
    },
    list(): SdkInstance[] {
      return [...byKey.values()].reverse();
    },
    size: () => byKey.size,
    /** How full the registry is, and what it refused and dropped since start (exported on /metrics). */
    stats,
    /**
     * Forgets instances unseen for retentionMs, and those seen on one request only that were not seen again
     * within probationMs; logs what was refused or dropped since the last log (counts and app totals only: ids
     * are whatever a sender made up, and tokens never reach the registry). Runs with every flush.
     */
    maintain(at: number): void {
      for (const i of unproven.values()) if (i.lastSeen < at - limits.probationMs) remove(i, 'probation');
      for (const i of byKey.values()) {
        if (i.lastSeen >= at - limits.retentionMs) break;
        remove(i, 'retention');
      }
      const s = stats();
      const total = [...Object.values(s.refused), ...Object.values(s.evicted)].reduce((a, b) => a + b, 0);
      if (!log || total === logged.total || at - logged.at < limits.logEveryMs) return;
      log.warn('sdk instance registry refused or dropped instances', {
        since: Number.isFinite(logged.at) ? new Date(logged.at).toISOString() : 'start',
        newSinceLastLog: total - logged.total,
        ...s,
        limits: {
          maxInstances: limits.maxInstances,
          maxInstancesPerApp: limits.maxInstancesPerApp,
          retentionMs: limits.retentionMs,
        },
      });
      logged = { at, total };
    },
    /** Called when an instance changes revision (not on every poll): how a drill sees SDKs take its change. */
    onRevision(listener: (instance: SdkInstance) => void) {
      revisionListeners.add(listener);
      return () => revisionListeners.delete(listener);
    },
    /**
     * Up to `max` instances changed since they were last drained (those waiting longest first; the rest stay for
     * the next call), and those evicted: what a flush writes.
     */
    drain(max = Number.POSITIVE_INFINITY) {
      const changed: SdkInstance[] = [];
      for (const i of dirty) {
        if (changed.length >= max) break;
        changed.push({ ...i });
        dirty.delete(i);
      }
      return { changed, evicted: evicted.splice(0) };
    },
    /**
     * Loads stored instances (oldest first, so the map's order is recency again), under today's rules: names that
     * are no longer valid, and instances beyond today's caps, are left out (and dropped from the table).
     */
    load(instances: SdkInstance[]) {
      const at = now();
      for (const i of instances) {
        const valid =
          isIdentity(i.appName, limits.maxNameLength) && isIdentity(i.instanceId, limits.maxNameLength);
        if (valid) admit({ ...i, streamOpen: false }, at);
      }
      // What did not fit is dropped from the table by the next flush; a start is not a refusal to count.
      evicted.length = 0;
      for (const r of evictionReasons) dropped[r] = 0;
      for (const i of instances)
        if (!byKey.has(keyOf(i.appName, i.instanceId)))
          evicted.push({ appName: i.appName, instanceId: i.instanceId });
    },
    limits,
  };
}

interface Row {
  app_name: string;
  instance_id: string;
  sdk_version: string | null;
  connection: Connection | null;
  refresh_interval_ms: number | null;
  metrics_interval_ms: number | null;
  started_at: number | null;
  name_prefix: string | null;
  first_seen: number;
  last_seen: number;
  requests: number;
  last_fetch_at: number | null;
  revision: number | null;
  held_since: number | null;
  etag: string | null;
  stream_open: number;
}

const fromRow = (r: Row): SdkInstance => ({
  appName: r.app_name,
  instanceId: r.instance_id,
  sdkVersion: r.sdk_version,
  connection: r.connection,
  refreshIntervalMs: r.refresh_interval_ms,
  metricsIntervalMs: r.metrics_interval_ms,
  startedAt: r.started_at,
  namePrefix: r.name_prefix,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  requests: Number(r.requests),
  lastFetchAt: r.last_fetch_at,
  revision: r.revision,
  heldSince: r.held_since,
  etag: r.etag,
  streamOpen: r.stream_open === 1,
});

export type SdkInstanceStore = ReturnType<typeof createSdkInstanceStore>;

/** The sdk_instances table: the registry's flush target and what it loads at start. */
export function createSdkInstanceStore(db: SqlDb) {
  const upsert = db.prepare(
    `INSERT INTO sdk_instances (app_name, instance_id, sdk_version, connection, refresh_interval_ms,
       metrics_interval_ms, started_at, name_prefix, first_seen, last_seen, requests, last_fetch_at, revision,
       held_since, etag, stream_open)
     VALUES (@appName, @instanceId, @sdkVersion, @connection, @refreshIntervalMs, @metricsIntervalMs, @startedAt,
       @namePrefix, @firstSeen, @lastSeen, @requests, @lastFetchAt, @revision, @heldSince, @etag, @streamOpen)
     ON CONFLICT (app_name, instance_id) DO UPDATE SET sdk_version = excluded.sdk_version,
       connection = excluded.connection, refresh_interval_ms = excluded.refresh_interval_ms,
       metrics_interval_ms = excluded.metrics_interval_ms, started_at = excluded.started_at,
       name_prefix = excluded.name_prefix, last_seen = excluded.last_seen, requests = excluded.requests,
       last_fetch_at = excluded.last_fetch_at,
       revision = excluded.revision, held_since = excluded.held_since, etag = excluded.etag,
       stream_open = excluded.stream_open`,
  );
  const remove = db.prepare('DELETE FROM sdk_instances WHERE app_name = ? AND instance_id = ?');
  const pruneOld = db.prepare('DELETE FROM sdk_instances WHERE last_seen < ?');
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM sdk_instances');
  const oldest = db.prepare<[number], { app_name: string; instance_id: string }>(
    'SELECT app_name, instance_id FROM sdk_instances ORDER BY last_seen ASC LIMIT ?',
  );
  const all = db.prepare<[number], Row>('SELECT * FROM sdk_instances ORDER BY last_seen ASC LIMIT ?');

  return {
    /**
     * Lets the registry forget what is past retention or probation, then writes what it drained, drops what it
     * evicted and what is past retention, and keeps the cap.
     */
    flush(registry: SdkRegistry, now: number, opts: { all?: boolean } = {}): number {
      registry.maintain(now);
      const { changed, evicted } = registry.drain(opts.all ? undefined : registry.limits.maxFlushRows);
      const { maxInstances, retentionMs } = registry.limits;
      db.transaction(() => {
        for (const i of changed) upsert.run({ ...i, streamOpen: i.streamOpen ? 1 : 0 });
        for (const e of evicted) remove.run(e.appName, e.instanceId);
        pruneOld.run(now - retentionMs);
        const over = (count.get()?.n ?? 0) - maxInstances;
        if (over > 0) for (const r of oldest.all(over)) remove.run(r.app_name, r.instance_id);
      })();
      return changed.length;
    },
    load(limit: number): SdkInstance[] {
      return all.all(limit).map(fromRow);
    },
  };
}
