-- Price offers shown to users and their purchases, each offer remembering the arm that priced it.
CREATE TABLE offers (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  arm         TEXT NOT NULL,          -- control or the variant name
  price       REAL NOT NULL,
  currency    TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX offers_user ON offers (user_id, created_at);

CREATE TABLE purchases (
  offer_id    TEXT PRIMARY KEY REFERENCES offers(id),
  user_id     TEXT NOT NULL,
  amount      REAL NOT NULL,
  currency    TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
