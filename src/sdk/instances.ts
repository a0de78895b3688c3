// Every SDK instance seen on the client API: what it last fetched and when. Updated in memory on the hot path,
// flushed to SQLite periodically, bounded in both.
import type { IncomingHttpHeaders } from 'node:http';
import type { SqlDb } from '../db/sql.ts';

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
  /** The last poll answered (200 or 304 on its current ETag) or push written to its stream. */
  lastFetchAt: number | null;
  /** The served revision it holds since that fetch. */
  revision: number | null;
  /** When it first held that revision. */
  heldSince: number | null;
  etag: string | null;
  streamOpen: boolean;
}

/** Bounds against hostile or broken senders: header lengths are cut, the instance count is capped. */
export const instanceLimits = {
  maxInstances: 10_000,
  maxNameLength: 100,
  maxVersionLength: 60,
  /** Registered instances not seen for this long are dropped from the table when it is flushed. */
  retentionMs: 30 * 86_400_000,
  /**
   * Rows written per periodic flush: 10,000 instances would hold the event loop for about 60 ms (250 ms on a
   * loaded machine) in one go; the rest wait for the next flush (the registry in memory is what is read).
   */
  maxFlushRows: 1000,
};

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

export type SdkRegistry = ReturnType<typeof createSdkRegistry>;

/**
 * The registry. `fetched` runs on every poll (fast path included): a map lookup and a few field writes, with
 * allocation only when an instance is first seen or changes revision. Map order is recency: an instance moves
 * to the end when seen, so the first entry is the one seen longest ago and is evicted at the cap.
 */
export function createSdkRegistry(deps: { now: () => number; limits?: Partial<typeof instanceLimits> }) {
  const limits = { ...instanceLimits, ...deps.limits };
  const { now } = deps;
  const byKey = new Map<string, SdkInstance>();
  const dirty = new Set<SdkInstance>();
  const evicted: Array<{ appName: string; instanceId: string }> = [];
  const revisionListeners = new Set<(instance: SdkInstance) => void>();

  const keyOf = (appName: string, instanceId: string) => `${appName}\n${instanceId}`;

  /** The instance named by appName/instanceId (already cut), created (evicting the oldest at the cap) if new. */
  const touch = (appName: string, instanceId: string, at: number): SdkInstance => {
    const key = keyOf(appName, instanceId);
    let instance = byKey.get(key);
    if (instance) {
      // Moved to the end at most once a second: recency for eviction without a delete and set per poll.
      if (at - instance.lastSeen >= 1000) {
        byKey.delete(key);
        byKey.set(key, instance);
      }
      instance.lastSeen = at;
    } else {
      if (byKey.size >= limits.maxInstances) evictOldest();
      instance = {
        appName: printable(appName),
        instanceId: printable(instanceId),
        sdkVersion: null,
        connection: null,
        refreshIntervalMs: null,
        metricsIntervalMs: null,
        startedAt: null,
        namePrefix: null,
        firstSeen: at,
        lastSeen: at,
        lastFetchAt: null,
        revision: null,
        heldSince: null,
        etag: null,
        streamOpen: false,
      };
      byKey.set(key, instance);
    }
    dirty.add(instance);
    return instance;
  };

  const evictOldest = () => {
    const first = byKey.entries().next();
    if (first.done) return;
    const [key, instance] = first.value;
    byKey.delete(key);
    dirty.delete(instance);
    evicted.push({ appName: instance.appName, instanceId: instance.instanceId });
  };

  /** appName and instanceId from unleash-client's headers, cut; undefined without an instance id. */
  const identityOf = (headers: HeaderSource) => {
    const instanceId = cut(headerOf(headers, 'unleash-instanceid'), limits.maxNameLength);
    if (!instanceId) return undefined;
    return {
      appName: cut(headerOf(headers, 'unleash-appname'), limits.maxNameLength) ?? 'unknown',
      instanceId,
    };
  };

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
      const instanceId = cut(headerOf(headers, 'unleash-instanceid'), limits.maxNameLength);
      if (!instanceId) return;
      const appName = cut(headerOf(headers, 'unleash-appname'), limits.maxNameLength) ?? 'unknown';
      const at = now();
      const instance = touch(appName, instanceId, at);
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
      const instance = touch(id.appName, id.instanceId, now());
      instance.streamOpen = open;
      if (open) instance.connection = 'stream';
    },
    /** Register or metrics: the body names the instance (and, for register, its version, interval and start). */
    seen(
      headers: HeaderSource,
      body: Record<string, unknown>,
      kind: 'register' | 'metrics',
    ): SdkInstance | undefined {
      const fromHeaders = identityOf(headers);
      const instanceId = cut(body.instanceId, limits.maxNameLength) ?? fromHeaders?.instanceId;
      if (!instanceId) return undefined;
      const appName = cut(body.appName, limits.maxNameLength) ?? fromHeaders?.appName ?? 'unknown';
      const instance = touch(appName, instanceId, now());
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
    /** Loads stored instances (oldest first, so the map's order is recency again). */
    load(instances: SdkInstance[]) {
      for (const i of instances) {
        if (byKey.size >= limits.maxInstances) evictOldest();
        byKey.set(keyOf(i.appName, i.instanceId), { ...i, streamOpen: false });
      }
      evicted.length = 0;
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
       metrics_interval_ms, started_at, name_prefix, first_seen, last_seen, last_fetch_at, revision, held_since,
       etag, stream_open)
     VALUES (@appName, @instanceId, @sdkVersion, @connection, @refreshIntervalMs, @metricsIntervalMs, @startedAt,
       @namePrefix, @firstSeen, @lastSeen, @lastFetchAt, @revision, @heldSince, @etag, @streamOpen)
     ON CONFLICT (app_name, instance_id) DO UPDATE SET sdk_version = excluded.sdk_version,
       connection = excluded.connection, refresh_interval_ms = excluded.refresh_interval_ms,
       metrics_interval_ms = excluded.metrics_interval_ms, started_at = excluded.started_at,
       name_prefix = excluded.name_prefix, last_seen = excluded.last_seen, last_fetch_at = excluded.last_fetch_at,
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
    /** Writes what the registry drained, drops what it evicted and what is past retention, keeps the cap. */
    flush(registry: SdkRegistry, now: number, opts: { all?: boolean } = {}): number {
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
