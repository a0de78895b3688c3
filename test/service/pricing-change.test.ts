// The pricing change through HTTP with the real SDK: variant prices, stickiness per user, purchases per arm.
import { describe, expect, it } from 'vitest';
import { type Harness, signalTotals, useHarnesses } from './harness.ts';

const start = useHarnesses();

const offer = async (h: Harness, userId: string) => {
  const res = await h.call('GET', `/service/offers?userId=${encodeURIComponent(userId)}`);
  expect(res.status).toBe(200);
  return res.body.offer as { id: string; userId: string; price: number; currency: string };
};

describe('pricing change (pricing.dynamic-offers) through the real SDK', () => {
  it('offers today’s price of 19.00 to everyone while the experiment has not started', async () => {
    const h = await start();
    for (let i = 0; i < 20; i++)
      expect(await offer(h, `user-${i}`)).toMatchObject({ price: 19, currency: 'EUR' });
  });

  it('shows each user the same price every time, and spreads users over both variants and control', async () => {
    const h = await start();
    await h.admin('pricing.dynamic-offers', 'rollout/start');
    await h.admin('pricing.dynamic-offers', 'rollout/promote');
    const priceOf = new Map<string, number>();
    const ids = new Set<string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) {
        const o = await offer(h, `user-${i}`);
        ids.add(o.id);
        const before = priceOf.get(o.userId);
        if (before !== undefined) expect(o.price, o.userId).toBe(before);
        priceOf.set(o.userId, o.price);
      }
    }
    expect(ids.size).toBe(300);
    const counts = new Map<number, number>();
    for (const p of priceOf.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([17, 19, 21]);
    // At the 50 % stage about half see today's price, and the variants split the rest.
    expect(counts.get(19)).toBeGreaterThan(30);
    expect(counts.get(19)).toBeLessThan(70);
    expect(counts.get(17)).toBeGreaterThan(10);
    expect(counts.get(21)).toBeGreaterThan(10);
  });

  it('records a purchase once against the arm that priced the offer, even when retried', async () => {
    const h = await start();
    await h.admin('pricing.dynamic-offers', 'rollout/start');
    await h.admin('pricing.dynamic-offers', 'rollout/promote', { to: 'full' });
    const users = Array.from({ length: 100 }, (_, i) => `buyer-${i}`);
    const offers = await Promise.all(users.map((u) => offer(h, u)));
    const bought = offers.filter((o) => o.price === 21).slice(0, 3);
    const control = offers.find((o) => o.price === 19);
    expect(bought).toHaveLength(3);
    // The plan's 5 % holdback keeps a few users on today's price even at 100 %.
    if (!control) throw new Error('no user in the holdback');
    for (const o of bought) {
      const first = await h.call('POST', `/service/offers/${o.id}/purchase`);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        replayed: false,
        purchase: { offerId: o.id, amount: 21, currency: 'EUR' },
      });
    }
    const retry = await h.call('POST', `/service/offers/${bought[0]?.id}/purchase`);
    expect(retry.status).toBe(200);
    expect(retry.body.replayed).toBe(true);

    // Switched off now, the purchase of an offer made under the variant still counts for the variant.
    await h.admin('pricing.dynamic-offers', 'rollout/rollback');
    expect((await h.call('POST', `/service/offers/${control.id}/purchase`)).status).toBe(201);

    const sum = await signalTotals(h, 'pricing.dynamic-offers');
    expect(sum('price-21', 'conversions')).toBe(3);
    expect(sum('price-21', 'revenue')).toBe(63);
    expect(sum('price-21', 'units')).toBe(offers.filter((o) => o.price === 21).length);
    expect(sum('price-17', 'units') + sum('price-21', 'units') + sum('control', 'units')).toBe(users.length);
    expect(sum('control', 'conversions')).toBe(1);
    expect(sum('control', 'revenue')).toBe(19);
  });

  it('answers 404 for an unknown offer and 400 without a userId', async () => {
    const h = await start();
    const missing = await h.call('POST', '/service/offers/nope/purchase');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const bad = await h.call('GET', '/service/offers');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(bad.body.error.details.issues[0].path).toBe('userId');
  });
});
