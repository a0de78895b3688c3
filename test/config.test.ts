import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';

describe('parseConfig', () => {
  it('works with no configuration: loopback, port 4242, ./flags and ./data', () => {
    const r = parseConfig({}, '/srv/app');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.host).toBe('127.0.0.1');
    expect(r.config.port).toBe(4242);
    expect(r.config.flagsDir).toBe(path.resolve('/srv/app', 'flags'));
    expect(r.config.dbFile).toBe(path.resolve('/srv/app', 'data', 'rollgate.db'));
    expect(r.config.tokens).toEqual([]);
    expect(r.config.tickIntervalMs).toBe(5000);
  });

  it('reports every bad variable at once, naming each', () => {
    const r = parseConfig({
      PORT: 'eighty',
      ROLLGATE_TICK_INTERVAL: 'soon',
      ROLLGATE_WATCH: 'maybe',
      ROLLGATE_NOTIFY_URLS: 'ftp://x',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(r.problems).toHaveLength(4);
    for (const name of ['PORT', 'ROLLGATE_TICK_INTERVAL', 'ROLLGATE_WATCH', 'ROLLGATE_NOTIFY_URLS'])
      expect(text).toContain(`${name}:`);
    expect(text).toContain('"soon" is not a duration');
  });

  it('reads the settle lag, and refuses one that would make pulled minutes late or outlast the raw minutes', () => {
    const r = parseConfig({ ROLLGATE_SIGNAL_SETTLE: '3m' });
    expect(r.ok && r.config.signals.settleMs).toBe(180_000);
    const bad = parseConfig({
      ROLLGATE_SIGNAL_SETTLE: '1m',
      ROLLGATE_PROMETHEUS_URL: 'http://prometheus.invalid:9090',
      ROLLGATE_PROMETHEUS_STEP: '1m',
    });
    expect(!bad.ok && bad.problems.join('\n')).toContain(
      'ROLLGATE_SIGNAL_SETTLE: must be at least ROLLGATE_PROMETHEUS_STEP + ROLLGATE_PROMETHEUS_DELAY',
    );
    const long = parseConfig({ ROLLGATE_SIGNAL_SETTLE: '2h', ROLLGATE_SIGNAL_RAW_RETENTION: '1h' });
    expect(!long.ok && long.problems.join('\n')).toContain(
      'ROLLGATE_SIGNAL_SETTLE: must be shorter than ROLLGATE_SIGNAL_RAW_RETENTION',
    );
  });

  it('reads named and bare tokens, and refuses short secrets without echoing them', () => {
    const r = parseConfig({ ROLLGATE_ADMIN_TOKENS: 'alice=aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb' });
    expect(r.ok && r.config.tokens).toEqual([
      { kind: 'admin', name: 'alice', secret: 'aaaaaaaaaaaaaaaaaaaa' },
      { kind: 'admin', name: 'admin-2', secret: 'bbbbbbbbbbbbbbbbbbbb' },
    ]);
    const short = parseConfig({ ROLLGATE_CLIENT_TOKENS: 'svc=tooshort' });
    expect(short.ok).toBe(false);
    if (short.ok) return;
    expect(short.problems[0]).toMatch(/^ROLLGATE_CLIENT_TOKENS: token 1 is shorter than 16 characters$/);
    expect(short.problems.join()).not.toContain('tooshort');
  });

  it('selects PostgreSQL by a postgres:// URL and refuses another scheme without echoing the password', () => {
    const ok = parseConfig({ ROLLGATE_DATABASE_URL: 'postgres://rg:s3cret@db.internal:5432/rollgate' });
    expect(ok.ok && ok.config.databaseUrl).toBe('postgres://rg:s3cret@db.internal:5432/rollgate');
    const none = parseConfig({});
    expect(none.ok && none.config.databaseUrl).toBeUndefined();
    const bad = parseConfig({ ROLLGATE_DATABASE_URL: 'mysql://rg:s3cret@db.internal/rollgate' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems).toEqual(['ROLLGATE_DATABASE_URL: must be a postgres:// or postgresql:// URL']);
    expect(bad.problems.join('')).not.toContain('s3cret');
  });

  it('treats empty variables as unset', () => {
    const r = parseConfig({ PORT: '', HOST: '' });
    expect(r.ok && [r.config.host, r.config.port]).toEqual(['127.0.0.1', 4242]);
  });

  it('refuses intervals too short to be meant and contradictory settings', () => {
    const r = parseConfig({
      ROLLGATE_TICK_INTERVAL: '0',
      ROLLGATE_SIGNAL_STALE: '10s',
      ROLLGATE_SERVICE_UNLEASH_URL: 'ftp://example.test/api/',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        'ROLLGATE_TICK_INTERVAL: "0" is shorter than the minimum 100ms',
        'ROLLGATE_SIGNAL_STALE: "10s" is shorter than the minimum 1m',
      ]),
    );
    expect(r.problems.some((p) => p.startsWith('ROLLGATE_SERVICE_UNLEASH_URL:'))).toBe(true);
    const contradictory = parseConfig({
      ROLLGATE_SIGNAL_RAW_RETENTION: '40d',
      ROLLGATE_ADMIN_TOKENS: 'same-secret-0123456789',
      ROLLGATE_CLIENT_TOKENS: 'same-secret-0123456789',
    });
    expect(!contradictory.ok && contradictory.problems).toEqual([
      'ROLLGATE_SIGNAL_RAW_RETENTION: must not exceed ROLLGATE_SIGNAL_RETENTION',
      'ROLLGATE_CLIENT_TOKENS: a token is also configured as an admin token',
    ]);
  });
});
