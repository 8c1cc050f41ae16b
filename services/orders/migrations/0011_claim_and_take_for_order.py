"""On PostgreSQL, a checkout's Idempotency-Key claimed in the statement that places its order
(services/orders/store.place_order): a first request, priced with the price list its process
keeps, then needs no statement of its own for the claim. The claim's round trip was one of a
checkout's eight, and each round trip costs the orders service about a twentieth of its CPU
per order (py-spy, bench/README.md "session 21").

A refusal raises, which undoes the whole statement, the key's claim with it: `key_held` when
the key exists (a retry, or a request sent twice at once; the caller then claims the key as
it would have before), `stale_prices` when the price list changed since the order was priced
with it (migration 0009's revision), and `take_for_order`'s own (migration 0010). A second
request with the same key waits at the insert until the first's statement ends: it finds the
key held if that statement placed its order, and claims it if it was refused."""

from tortoise import migrations

from petshore.db import on_postgres

SIGNATURE = (
    "claim_and_take_for_order(TEXT, TEXT, TEXT, TEXT, TIMESTAMPTZ, TIMESTAMPTZ, TEXT,"
    " TEXT[], INT[], TEXT)"
)
FUNCTION = """CREATE FUNCTION claim_and_take_for_order(
    p_key TEXT, p_request_hash TEXT, p_owner TEXT, p_order_id TEXT, p_now TIMESTAMPTZ,
    p_lease_until TIMESTAMPTZ, p_revision TEXT,
    p_skus TEXT[], p_quantities INT[], p_discount TEXT
) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO "idempotency_key" ("key", "request_hash", "state", "order_id", "owner",
            "lease_expires_at", "created_at", "updated_at")
        VALUES (p_key, p_request_hash, 'in_progress', p_order_id, p_owner,
            p_lease_until, p_now, p_now)
        ON CONFLICT ("key") DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the Idempotency-Key is held already' USING HINT = 'key_held';
    END IF;
    IF (SELECT "revision" FROM "price_list") IS DISTINCT FROM p_revision THEN
        RAISE EXCEPTION 'the price list changed' USING HINT = 'stale_prices';
    END IF;
    -- Its fence finds the key just claimed, in this statement's transaction.
    RETURN take_for_order(p_key, p_owner, p_order_id, p_now, p_skus, p_quantities, p_discount);
END $$"""


class Migration(migrations.Migration):
    dependencies = [("models", "0010_take_for_order")]

    initial = False

    operations = [on_postgres(FUNCTION, f"DROP FUNCTION IF EXISTS {SIGNATURE}")]
