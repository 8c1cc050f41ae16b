"""On PostgreSQL, what an order takes (its Idempotency-Key's fence, its stock, its discount
code's use) as one function, so that a checkout places its order in one statement: the
function, then the order, its lines and its history as data-modifying WITH clauses
(services/orders/store.place_order). A transaction of its own would cost five round trips
(BEGIN, the fence, the stock, the rows, COMMIT), which were a quarter of the orders service's
CPU per checkout (py-spy, bench/README.md "session 18").

A refusal raises, which undoes the whole statement; its HINT says which refusal it is
(`lost_key`, `out_of_stock` with the SKUs short as a JSON array in DETAIL, `used_up`).
Statements in a volatile function each read a fresh snapshot: a take that waited for another
checkout's lock sees the stock that checkout left, as a statement of its own would."""

from tortoise import migrations

from petshore.db import on_postgres

SIGNATURE = "take_for_order(TEXT, TEXT, TEXT, TIMESTAMPTZ, TEXT[], INT[], TEXT)"
FUNCTION = """CREATE FUNCTION take_for_order(
    p_key TEXT, p_owner TEXT, p_order_id TEXT, p_now TIMESTAMPTZ,
    p_skus TEXT[], p_quantities INT[], p_discount TEXT
) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    short TEXT[] := '{}';
BEGIN
    -- The fence: only the checkout holding the key places its order. The update also locks
    -- the key's row, so a takeover waits until this statement ends.
    UPDATE "idempotency_key" SET "order_id" = p_order_id, "updated_at" = p_now
        WHERE "key" = p_key AND "owner" = p_owner AND "state" = 'in_progress';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the Idempotency-Key was taken over' USING HINT = 'lost_key';
    END IF;
    -- In the caller's order (by SKU): a fixed lock order keeps checkouts from deadlocking.
    FOR i IN 1 .. coalesce(array_length(p_skus, 1), 0) LOOP
        UPDATE "inventory"
            SET "available" = "available" - p_quantities[i], "updated_at" = p_now
            WHERE "sku" = p_skus[i] AND "available" >= p_quantities[i];
        IF NOT FOUND THEN
            short := short || p_skus[i];
        END IF;
    END LOOP;
    IF cardinality(short) > 0 THEN
        RAISE EXCEPTION 'not enough stock'
            USING HINT = 'out_of_stock', DETAIL = to_json(short)::TEXT;
    END IF;
    IF p_discount IS NOT NULL THEN
        UPDATE "discount_code" SET "redemptions" = "redemptions" + 1
            WHERE "code" = p_discount AND "active"
            AND ("max_redemptions" IS NULL OR "redemptions" < "max_redemptions");
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the discount code is used up' USING HINT = 'used_up';
        END IF;
    END IF;
    RETURN TRUE;
END $$"""


class Migration(migrations.Migration):
    dependencies = [("models", "0009_price_list_revision")]

    initial = False

    operations = [on_postgres(FUNCTION, f"DROP FUNCTION IF EXISTS {SIGNATURE}")]
