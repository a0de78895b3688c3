// The price a user is offered: today's price on control, the variant's payload price otherwise.
import type { VariantResult } from './flag-client.ts';

export interface PriceList {
  /** Today's price, kept by control. */
  basePrice: number;
  currency: string;
}

export interface Priced {
  arm: string;
  price: number;
  currency: string;
}

/** Reads `{"price": 17.0, "currency": "EUR"}` (json), `17.0` (number or string); undefined when unusable. */
function payloadPrice(payload: VariantResult['payload']): { price: number; currency?: string } | undefined {
  if (!payload) return undefined;
  if (payload.type === 'json') {
    try {
      const v = JSON.parse(payload.value) as { price?: unknown; currency?: unknown };
      if (typeof v.price !== 'number' || !(v.price > 0)) return undefined;
      return typeof v.currency === 'string' ? { price: v.price, currency: v.currency } : { price: v.price };
    } catch {
      return undefined;
    }
  }
  const price = Number(payload.value);
  return Number.isFinite(price) && price > 0 ? { price } : undefined;
}

/**
 * A variant whose payload has no usable price serves today's price and is reported as control, so the
 * experiment never credits a variant with sales it did not price (the sample-ratio check then shows the gap).
 */
export function priceFor(variant: VariantResult, list: PriceList): Priced & { misconfigured: boolean } {
  const control = { arm: 'control', price: list.basePrice, currency: list.currency };
  if (!variant.featureEnabled || variant.name === 'disabled') return { ...control, misconfigured: false };
  const fromPayload = payloadPrice(variant.payload);
  if (!fromPayload) return { ...control, misconfigured: true };
  return {
    arm: variant.name,
    price: fromPayload.price,
    currency: fromPayload.currency ?? list.currency,
    misconfigured: false,
  };
}
