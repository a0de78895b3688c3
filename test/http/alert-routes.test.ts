import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const plans = {
  'checkout.new-flow.yaml': `
name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
rollout:
  stages: [{ percent: 5 }, { percent: 50 }, { percent: 100 }]
  alerts:
    - { match: { alertname: CheckoutErrors, service: checkout } }
    - { matchRe: { alertname: "Checkout(Latency|Saturation)High" }, match: { team: payments } }
`,
  'search.ranking.yaml': `
name: search.ranking
description: New search ranking
owner: search
type: release
rollout:
  stages: [{ percent: 10 }, { percent: 100 }]
`,
};

const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/alerts', name), 'utf8'));

interface FlagResult {
  flag: string;
  by: string;
  outcome: string;
  eventId: number | null;
}
interface IntakeBody {
  received: number;
  alerts: Array<{ status: string; duplicate: boolean; outcome: string; matched: FlagResult[] }>;
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => stop?.());

function setup() {
  const clock = manualClock();
  const t = buildRollgate({ flagsDir: makeFlagsDir([], plans), clock });
  stop = () => t.rg.stop();
  const post = async (endpoint: string, body: unknown, token: string | null = testTokens.alert) => {
    const res = await t.call('POST', endpoint, { body, token });
    return { status: res.status, body: (await res.json()) as IntakeBody };
  };
  const start = async (flag: string) => {
    const res = await t.call('POST', `/api/admin/flags/${flag}/rollout/start`);
    expect(res.status).toBe(200);
  };
  /** A restart over an alert still firing needs force and a reason; repeats of that episode then leave it be. */
  const forceStart = async (flag: string) => {
    const res = await t.call('POST', `/api/admin/flags/${flag}/rollout/start`, {
      body: { force: true, reason: 'the alert is a false positive' },
    });
    expect(res.status).toBe(200);
  };
  const flag = async (name: string) => {
    const res = await t.call('GET', `/api/admin/flags/${name}`);
    return ((await res.json()) as { flag: { phase: string; percent: number } }).flag;
  };
  const rollbacks = (name: string) =>
    t.rg.controller.events.list({ flag: name, type: 'rollout.rolled-back', limit: 100 });
  const received = async () => {
    const res = await t.call('GET', '/api/admin/alerts?limit=100');
    expect(res.status).toBe(200);
    return (
      (await res.json()) as {
        alerts: Array<{
          fingerprint: string;
          status: string;
          outcome: string;
          timesReceived: number;
          matched: FlagResult[] | null;
        }>;
      }
    ).alerts;
  };
  return { ...t, clock, post, start, forceStart, flag, rollbacks, received };
}

describe('POST /api/alerts/alertmanager', () => {
  it('rolls the matched flag back once, however often the same alert is repeated', async () => {
    const { post, start, flag, rollbacks } = setup();
    await start('checkout.new-flow');
    const payload = fixture('alertmanager-v4.json');

    const first = await post('/api/alerts/alertmanager', payload);
    expect(first.status).toBe(200);
    expect(first.body.alerts[0]).toMatchObject({
      status: 'firing',
      duplicate: false,
      outcome: 'matched',
      matched: [{ flag: 'checkout.new-flow', by: 'rollout.alerts[0]', outcome: 'rolled-back' }],
    });
    expect(await flag('checkout.new-flow')).toMatchObject({ phase: 'rolled-back', percent: 0 });

    for (let i = 0; i < 5; i++) {
      const again = await post('/api/alerts/alertmanager', payload);
      expect(again.body.alerts[0]).toMatchObject({ duplicate: true, matched: [{ outcome: 'duplicate' }] });
    }
    const events = rollbacks('checkout.new-flow');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'alert:alertmanager:CheckoutErrors',
      reason: 'alert CheckoutErrors firing (alertmanager): Checkout error ratio above 5 %',
      data: {
        phaseBefore: 'progressing',
        percentBefore: 5,
        alert: {
          fingerprint: '1a30ba71cca2921f',
          startsAt: '2026-01-01T00:00:00.123Z',
          labels: { alertname: 'CheckoutErrors', service: 'checkout', severity: 'critical' },
          annotations: { summary: 'Checkout error ratio above 5 %' },
          receivedBy: 'alertmanager',
        },
      },
    });
    expect(first.body.alerts[0]?.matched[0]?.eventId).toBe(events[0]?.id);
  });

  it('makes one rollback and one event from 20 concurrent duplicates', async () => {
    const { post, start, rollbacks, received } = setup();
    await start('checkout.new-flow');
    const payload = fixture('alertmanager-v4.json');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post('/api/alerts/alertmanager', payload)),
    );
    const outcomes = answers.map((a) => a.body.alerts[0]?.matched[0]?.outcome);
    expect(outcomes.filter((o) => o === 'rolled-back')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(19);
    expect(rollbacks('checkout.new-flow')).toHaveLength(1);
    expect(await received()).toMatchObject([{ fingerprint: '1a30ba71cca2921f', timesReceived: 20 }]);
  });

  it('acts again for a new firing episode, but not for a repeat of the episode that already acted', async () => {
    const { post, start, forceStart, rollbacks } = setup();
    await start('checkout.new-flow');
    const payload = fixture('alertmanager-v4.json');
    await post('/api/alerts/alertmanager', payload);
    await forceStart('checkout.new-flow');

    const repeat = await post('/api/alerts/alertmanager', payload);
    expect(repeat.body.alerts[0]).toMatchObject({ duplicate: true });
    expect(rollbacks('checkout.new-flow')).toHaveLength(1);

    const later = structuredClone(payload);
    later.alerts[0].startsAt = '2026-01-01T06:00:00Z';
    const refired = await post('/api/alerts/alertmanager', later);
    expect(refired.body.alerts[0]?.matched[0]?.outcome).toBe('rolled-back');
    expect(rollbacks('checkout.new-flow')).toHaveLength(2);
  });

  it('records a resolved alert and never resumes the rollout', async () => {
    const { post, start, flag, received } = setup();
    await start('checkout.new-flow');
    const payload = fixture('alertmanager-v4.json');
    await post('/api/alerts/alertmanager', payload);

    const resolved = structuredClone(payload);
    resolved.status = 'resolved';
    resolved.alerts[0].status = 'resolved';
    resolved.alerts[0].endsAt = '2026-01-01T00:10:00Z';
    const answer = await post('/api/alerts/alertmanager', resolved);
    expect(answer.status).toBe(200);
    expect(answer.body.alerts[0]).toMatchObject({
      status: 'resolved',
      matched: [{ flag: 'checkout.new-flow', outcome: 'resolved', eventId: null }],
    });
    expect(await flag('checkout.new-flow')).toMatchObject({ phase: 'rolled-back', percent: 0 });
    expect((await received()).map((a) => [a.status, a.outcome])).toEqual([
      ['resolved', 'matched'],
      ['firing', 'matched'],
    ]);
  });

  it('answers 503 when a rollback cannot be written, and acts on the sender’s retry', async () => {
    const { post, start, rg, received, rollbacks } = setup();
    await start('checkout.new-flow');
    rg.db.exec(
      `CREATE TRIGGER broken BEFORE UPDATE ON flag_state BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    const payload = fixture('alertmanager-v4.json');
    const failed = await post('/api/alerts/alertmanager', payload);
    expect(failed.status).toBe(503);
    expect(await received()).toMatchObject([{ outcome: 'unfinished', matched: [{ outcome: 'error' }] }]);

    rg.db.exec('DROP TRIGGER broken');
    const retried = await post('/api/alerts/alertmanager', payload);
    expect(retried.status).toBe(200);
    expect(retried.body.alerts[0]).toMatchObject({ duplicate: false, matched: [{ outcome: 'rolled-back' }] });
    expect(rollbacks('checkout.new-flow')).toHaveLength(1);
    expect(await received()).toMatchObject([{ outcome: 'matched', timesReceived: 2 }]);
  });

  it('answers 400 naming the field when the payload is not an Alertmanager webhook', async () => {
    const { call } = setup();
    const res = await call('POST', '/api/alerts/alertmanager', {
      token: testTokens.alert,
      body: { version: '4', alerts: [{ labels: { alertname: 'X' } }] },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', message: /alerts\[0\]\.status/ },
    });
  });
});

describe('POST /api/alerts/grafana', () => {
  it('rolls the flag matched by a regex matcher back once, however often repeated', async () => {
    const { post, start, flag, rollbacks } = setup();
    await start('checkout.new-flow');
    const payload = fixture('grafana.json');
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('/api/alerts/grafana', payload)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const outcomes = answers.map((a) => a.body.alerts[0]?.matched[0]?.outcome);
    expect(outcomes.filter((o) => o === 'rolled-back')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(9);
    expect(await flag('checkout.new-flow')).toMatchObject({ phase: 'rolled-back' });
    expect(rollbacks('checkout.new-flow')).toMatchObject([
      { actor: 'alert:grafana:CheckoutLatencyHigh', data: { alert: { matchedBy: 'rollout.alerts[1]' } } },
    ]);
  });
});

describe('POST /api/alerts (generic)', () => {
  it('rolls back the flag named by a rollgate_flag label, once per episode', async () => {
    const { post, start, rollbacks } = setup();
    await start('search.ranking');
    const alert = { labels: { alertname: 'RankingBroken', rollgate_flag: 'search.ranking' }, summary: 'bad' };
    const first = await post('/api/alerts', alert);
    expect(first.body.alerts[0]?.matched).toMatchObject([
      { flag: 'search.ranking', by: 'label rollgate_flag', outcome: 'rolled-back' },
    ]);
    await post('/api/alerts', alert);
    await post('/api/alerts', [alert]);
    expect(rollbacks('search.ranking')).toMatchObject([{ actor: 'alert:generic:RankingBroken' }]);
  });

  it('without a start time, treats an alert as one episode until it is resolved', async () => {
    const { post, start, forceStart, rollbacks, clock } = setup();
    const alert = { labels: { alertname: 'CheckoutErrors', service: 'checkout' } };
    await start('checkout.new-flow');
    await post('/api/alerts', alert);
    await forceStart('checkout.new-flow');
    clock.advance(60_000);
    expect((await post('/api/alerts', alert)).body.alerts[0]?.duplicate).toBe(true);
    expect(rollbacks('checkout.new-flow')).toHaveLength(1);

    clock.advance(60_000);
    const resolved = await post('/api/alerts', { ...alert, status: 'resolved' });
    expect(resolved.body.alerts[0]?.matched).toMatchObject([{ outcome: 'resolved' }]);
    clock.advance(60_000);
    const refired = await post('/api/alerts', alert);
    expect(refired.body.alerts[0]).toMatchObject({ duplicate: false, matched: [{ outcome: 'rolled-back' }] });
    expect(rollbacks('checkout.new-flow')).toHaveLength(2);
  });

  it('records an unmatched alert and answers 202 with nothing matched', async () => {
    const { post, received } = setup();
    const answer = await post('/api/alerts', { labels: { alertname: 'DiskFull', service: 'db' } });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ received: 1, alerts: [{ outcome: 'no-match', matched: [] }] });
    expect(await received()).toMatchObject([{ status: 'firing', outcome: 'no-match', matched: [] }]);
  });

  it('reports a matched flag whose rollout is not running, or already rolled back, without writing', async () => {
    const { post, forceStart, call, rollbacks } = setup();
    const alert = { labels: { alertname: 'CheckoutErrors', service: 'checkout' } };
    const idle = await post('/api/alerts', alert);
    expect(idle.body.alerts[0]?.matched).toMatchObject([
      { flag: 'checkout.new-flow', outcome: 'not-active' },
    ]);

    await forceStart('checkout.new-flow');
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/rollback', {
      body: { reason: 'by hand' },
    });
    const other = { labels: { alertname: 'CheckoutSaturationHigh', team: 'payments' } };
    const late = await post('/api/alerts', other);
    expect(late.body.alerts[0]?.matched).toMatchObject([{ outcome: 'already-rolled-back', eventId: null }]);
    expect(rollbacks('checkout.new-flow')).toMatchObject([{ actor: 'ops' }]);
  });
});

describe('a still-firing alert blocks a restart', () => {
  const alert = { labels: { alertname: 'CheckoutErrors', service: 'checkout' } };

  it('refuses to start a flag under a matching alert that has not resolved (409 naming it), unless forced with a reason', async () => {
    const { post, start, call, rollbacks } = setup();
    await start('checkout.new-flow');
    await post('/api/alerts', alert);
    const refused = await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    expect(refused.status).toBe(409);
    const body = await refused.json();
    expect(body.error.message).toMatch(
      /alert CheckoutErrors \(generic\) has been firing since .* resolve it first/,
    );
    expect(body.error.details.firingAlerts).toHaveLength(1);
    const noReason = await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start', {
      body: { force: true },
    });
    expect(noReason.status).toBe(400);
    const forced = await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start', {
      body: { force: true, reason: 'known false positive, INC-7' },
    });
    expect(forced.status).toBe(200);
    const [started] = (await (await call('GET', '/api/admin/events?type=rollout.started&limit=1')).json())
      .events;
    expect(started.data.forcedOver[0]).toMatchObject({ alertname: 'CheckoutErrors', source: 'generic' });
    // Repeats of the episode it was forced over leave it running.
    await post('/api/alerts', alert);
    expect(rollbacks('checkout.new-flow')).toHaveLength(1);
  });

  it('lets a start through once the alert resolves', async () => {
    const { post, start, call } = setup();
    await post('/api/alerts', alert);
    await post('/api/alerts', { ...alert, status: 'resolved' });
    await start('checkout.new-flow');
    expect((await call('GET', '/api/admin/flags/checkout.new-flow')).status).toBe(200);
  });

  it('rolls back a rollout started after an episode that went quiet past the firing TTL and then repeats', async () => {
    const { post, start, flag, clock, rollbacks } = setup();
    await start('checkout.new-flow');
    await post('/api/alerts', alert);
    expect(rollbacks('checkout.new-flow')).toHaveLength(1);
    // Alertmanager repeats a firing alert only every repeat_interval: quiet for longer than the 24 h TTL, it no
    // longer blocks a start...
    clock.advance(25 * 3_600_000);
    await start('checkout.new-flow');
    expect((await flag('checkout.new-flow')).phase).toBe('progressing');
    // ...but when it repeats, still firing, it rolls back the rollout started after it.
    const repeat = await post('/api/alerts', alert);
    expect(repeat.body.alerts[0]).toMatchObject({ duplicate: true, matched: [{ outcome: 'rolled-back' }] });
    expect((await flag('checkout.new-flow')).phase).toBe('rolled-back');
    expect(rollbacks('checkout.new-flow')).toHaveLength(2);
  });
});

describe('alert auth', () => {
  it('needs an alert token: none is 401, another kind is 403', async () => {
    const { post, call } = setup();
    const alert = { labels: { alertname: 'X' } };
    expect((await post('/api/alerts', alert, null)).status).toBe(401);
    expect((await post('/api/alerts/alertmanager', fixture('alertmanager-v4.json'), null)).status).toBe(401);
    expect((await post('/api/alerts/grafana', alert, 'not-a-known-token-at-all')).status).toBe(401);
    expect((await post('/api/alerts', alert, testTokens.admin)).status).toBe(403);
    expect((await post('/api/alerts/grafana', alert, testTokens.client)).status).toBe(403);
    expect((await call('GET', '/api/admin/alerts', { token: testTokens.alert })).status).toBe(403);
  });
});
