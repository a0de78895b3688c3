import { describe, expect, it } from 'vitest';
import { type MatchablePlan, matchAlert } from '../../src/alerts/match-alert.ts';

type Matchers = NonNullable<MatchablePlan['rollout']>['alerts'];
const plan = (name: string, alerts?: Matchers): MatchablePlan =>
  alerts ? { name, rollout: { alerts } } : { name };

const checkout = plan('checkout.new-flow', [
  { match: { alertname: 'CheckoutErrors', service: 'checkout' } },
  { matchRe: { alertname: 'Checkout(Latency|Saturation)High' }, match: { team: 'payments' } },
]);
const search = plan('search.ranking', []);
const plain = plan('search.banner');
const plans = [checkout, search, plain];

describe('matchAlert', () => {
  it('matches a plan when every equality label is equal', () => {
    expect(matchAlert({ alertname: 'CheckoutErrors', service: 'checkout', instance: 'a:1' }, plans)).toEqual([
      { flag: 'checkout.new-flow', by: 'rollout.alerts[0]' },
    ]);
  });

  it('does not match when one equality label differs or is missing', () => {
    expect(matchAlert({ alertname: 'CheckoutErrors', service: 'search' }, plans)).toEqual([]);
    expect(matchAlert({ alertname: 'CheckoutErrors' }, plans)).toEqual([]);
  });

  it('treats regular expressions as anchored at both ends, as Alertmanager does', () => {
    const labels = { alertname: 'CheckoutLatencyHigh', team: 'payments' };
    expect(matchAlert(labels, plans)).toEqual([{ flag: 'checkout.new-flow', by: 'rollout.alerts[1]' }]);
    expect(matchAlert({ ...labels, alertname: 'CheckoutLatencyHighish' }, plans)).toEqual([]);
    expect(matchAlert({ ...labels, alertname: 'PreCheckoutLatencyHigh' }, plans)).toEqual([]);
  });

  it('counts a missing label as the empty string', () => {
    const optional = plan('x', [{ match: { alertname: 'A', env: '' } }]);
    expect(matchAlert({ alertname: 'A' }, [optional])).toEqual([{ flag: 'x', by: 'rollout.alerts[0]' }]);
    expect(matchAlert({ alertname: 'A', env: 'prod' }, [optional])).toEqual([]);
  });

  it('matches the flag named by a rollgate_flag label, even without matchers in its plan', () => {
    expect(matchAlert({ alertname: 'Anything', rollgate_flag: 'search.ranking' }, plans)).toEqual([
      { flag: 'search.ranking', by: 'label rollgate_flag' },
    ]);
    expect(matchAlert({ rollgate_flag: 'no.such-flag' }, plans)).toEqual([]);
  });

  it('reports every plan an alert matches, each once', () => {
    const other = plan('queue.async', [
      { match: { service: 'checkout' } },
      { matchRe: { alertname: 'Checkout.*' } },
    ]);
    const labels = { alertname: 'CheckoutErrors', service: 'checkout' };
    expect(matchAlert(labels, [checkout, other])).toEqual([
      { flag: 'checkout.new-flow', by: 'rollout.alerts[0]' },
      { flag: 'queue.async', by: 'rollout.alerts[0]' },
    ]);
  });

  it('never matches with a pattern RE2 cannot run, nor with an empty matcher', () => {
    const odd = plan('odd', [{ matchRe: { alertname: '(?=Checkout).*' } }, {}]);
    expect(matchAlert({ alertname: 'CheckoutErrors' }, [odd])).toEqual([]);
  });
});
