-- The meter: what Google billed for each request (credits of $0.0001, a fraction, at the
-- rates of the model that served it: src/catalog/rates.ts) beside what was charged, and the
-- tokens behind it by kind (input text/image, cached, output image/text, thoughts), search
-- queries, the service tier and the models that answered, as JSON. /admin/usage sums
-- google_cost against credits_charged.
ALTER TABLE usage ADD COLUMN google_cost REAL NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN metered TEXT NOT NULL DEFAULT '{}';
