// Offer endpoints: the pricing experiment's exposure (an offer shown) and conversion (its purchase), per arm.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { jsonBody, query } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type FlagClient, serviceFlags } from './flag-client.ts';
import type { Offer, OfferStore, Purchase } from './offer-store.ts';
import { type PriceList, priceFor } from './pricing.ts';
import { regionOf, type SegmentBy, segmentFor } from './segment.ts';
import type { Outcome } from './signal-aggregate.ts';

export const offersQuery = z.strictObject({ userId: z.string().trim().min(1).max(200) });
export const purchaseBody = z.strictObject({});

export interface OfferRouteDeps {
  offers: OfferStore;
  flags: Pick<FlagClient, 'variant'>;
  record: (outcome: Outcome) => void;
  clock: Clock;
  log: Logger;
  newId: () => string;
  prices: PriceList;
  segmentBy?: SegmentBy;
}

const offerView = (o: Offer) => ({
  id: o.id,
  userId: o.userId,
  price: o.price,
  currency: o.currency,
  createdAt: new Date(o.createdAt).toISOString(),
});

const purchaseView = (p: Purchase) => ({
  offerId: p.offerId,
  userId: p.userId,
  amount: p.amount,
  currency: p.currency,
  purchasedAt: new Date(p.createdAt).toISOString(),
});

export function createOfferRoutes(deps: OfferRouteDeps) {
  const { offers, flags, record, clock, log } = deps;
  const segmentBy = deps.segmentBy ?? 'region';
  const app = new Hono();
  let warnedPayload = false;

  app.get('/offers', (c) => {
    const { userId } = query(c, offersQuery);
    const region = regionOf(c);
    const priced = priceFor(flags.variant(serviceFlags.pricing, { userId, region }), deps.prices);
    if (priced.misconfigured && !warnedPayload) {
      warnedPayload = true;
      log.warn('a pricing variant has no usable price in its payload; serving the base price');
    }
    const offer: Offer = {
      id: deps.newId(),
      userId,
      arm: priced.arm,
      price: priced.price,
      currency: priced.currency,
      createdAt: clock(),
    };
    offers.insert(offer);
    record({
      flag: serviceFlags.pricing,
      arm: offer.arm,
      segment: segmentFor(segmentBy, { region }),
      unit: userId,
      request: true,
      exposed: true,
    });
    return c.json({ offer: offerView(offer) });
  });

  app.post('/offers/:id/purchase', async (c) => {
    await jsonBody(c, purchaseBody);
    // The buyer's region, as its offer's was: the offer itself does not keep one.
    const region = regionOf(c);
    const offer = offers.get(c.req.param('id'));
    if (!offer) throw new AppError('NOT_FOUND', `no offer with id "${c.req.param('id')}"`);
    const { purchase, created } = offers.purchase(offer, clock());
    // Credited to the arm that priced the offer; a retried purchase is answered again but counted once.
    if (created) {
      record({
        flag: serviceFlags.pricing,
        arm: offer.arm,
        segment: segmentFor(segmentBy, { region }),
        unit: offer.userId,
        conversion: true,
        revenue: offer.price,
      });
    }
    return c.json({ purchase: purchaseView(purchase), replayed: !created }, created ? 201 : 200);
  });

  return app;
}
