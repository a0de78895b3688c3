// SQL for price offers and their purchases; a purchase is recorded once per offer.
import type { Db } from '../db/open.ts';

export interface Offer {
  id: string;
  userId: string;
  /** control or the variant name that priced it: purchases are credited to it, whatever the flag says later. */
  arm: string;
  price: number;
  currency: string;
  createdAt: number;
}

export interface Purchase {
  offerId: string;
  userId: string;
  amount: number;
  currency: string;
  createdAt: number;
}

interface OfferRow {
  id: string;
  user_id: string;
  arm: string;
  price: number;
  currency: string;
  created_at: number;
}

interface PurchaseRow {
  offer_id: string;
  user_id: string;
  amount: number;
  currency: string;
  created_at: number;
}

const toOffer = (r: OfferRow): Offer => ({
  id: r.id,
  userId: r.user_id,
  arm: r.arm,
  price: r.price,
  currency: r.currency,
  createdAt: r.created_at,
});

const toPurchase = (r: PurchaseRow): Purchase => ({
  offerId: r.offer_id,
  userId: r.user_id,
  amount: r.amount,
  currency: r.currency,
  createdAt: r.created_at,
});

export type OfferStore = ReturnType<typeof createOfferStore>;

export function createOfferStore(db: Db) {
  const insertOffer = db.prepare(
    `INSERT INTO offers (id, user_id, arm, price, currency, created_at)
     VALUES (@id, @userId, @arm, @price, @currency, @createdAt)`,
  );
  const getOffer = db.prepare<[string], OfferRow>('SELECT * FROM offers WHERE id = ?');
  const insertPurchase = db.prepare(
    `INSERT OR IGNORE INTO purchases (offer_id, user_id, amount, currency, created_at)
     VALUES (@offerId, @userId, @amount, @currency, @createdAt)`,
  );
  const getPurchase = db.prepare<[string], PurchaseRow>('SELECT * FROM purchases WHERE offer_id = ?');

  return {
    insert(offer: Offer): void {
      insertOffer.run(offer);
    },
    get(id: string): Offer | undefined {
      const row = getOffer.get(id);
      return row && toOffer(row);
    },
    /** Records the purchase unless the offer was already bought; `created` says which, so a retry counts once. */
    purchase(offer: Offer, at: number): { purchase: Purchase; created: boolean } {
      const created =
        insertPurchase.run({
          offerId: offer.id,
          userId: offer.userId,
          amount: offer.price,
          currency: offer.currency,
          createdAt: at,
        }).changes === 1;
      const row = getPurchase.get(offer.id);
      if (!row) throw new Error(`purchase of offer ${offer.id} vanished after insert`);
      return { purchase: toPurchase(row), created };
    },
  };
}
