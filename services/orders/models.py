"""The orders service's tables."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# The service's own log of admin changes (petshore.audit): Tortoise finds it in this module.
from petshore.audit import AdminAction as AdminAction


class Inventory(Model):
    sku = fields.CharField(max_length=64, primary_key=True)
    available = fields.IntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "inventory"
        # The back office's low-stock list: fewest first, by SKU.
        indexes = (("available", "sku"),)


# Every change to a SKU's stock made by hand, with why and by whom (checkouts are in orders).
class StockMovement(Model):
    id = fields.IntField(primary_key=True)
    sku = fields.CharField(max_length=64, db_index=True)
    delta = fields.IntField()
    available = fields.IntField()  # the count after the change
    reason = fields.CharField(max_length=200)
    actor = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_movement"


class Order(Model):
    id = fields.CharField(max_length=40, primary_key=True)
    # pending | paid | payment_failed | cancelled | fulfilled | refunded
    status = fields.CharField(max_length=20, db_index=True)
    email = fields.CharField(max_length=254)
    shipping_address = fields.JSONField()
    # The address's name, where the back office's search can reach it.
    ship_to_name = fields.CharField(max_length=200, default="")
    currency = fields.CharField(max_length=3)
    subtotal_cents = fields.BigIntField(default=0)
    shipping_cents = fields.BigIntField(default=0)
    tax_cents = fields.BigIntField(default=0)
    discount_cents = fields.BigIntField(default=0)
    total_cents = fields.BigIntField()
    refunded_cents = fields.BigIntField(default=0)
    # How it ships and what code it used, as they were when it was placed.
    shipping_method = fields.CharField(max_length=32, default="")
    shipping_method_name = fields.CharField(max_length=200, default="")
    discount_code = fields.CharField(max_length=32, null=True)
    cart_id = fields.CharField(max_length=64)
    customer_id = fields.CharField(max_length=64, null=True, db_index=True)
    # The key of the checkout that placed it: how the provider's payment is found again.
    idempotency_key = fields.CharField(max_length=255, null=True, unique=True)
    payment_reference = fields.CharField(max_length=128, null=True)
    paid_at = fields.DatetimeField(null=True)
    # The confirmation email: claimed by one sender at a time, and when it was sent.
    confirmation_claimed_at = fields.DatetimeField(null=True)
    confirmation_sent_at = fields.DatetimeField(null=True)
    carrier = fields.CharField(max_length=64, null=True)
    tracking_number = fields.CharField(max_length=128, null=True)
    fulfilled_at = fields.DatetimeField(null=True)
    # The shipping notice, claimed and sent as the confirmation is.
    shipping_claimed_at = fields.DatetimeField(null=True)
    shipping_sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    lines: fields.ReverseRelation[OrderLine]

    class Meta:
        table = "order"


class OrderLine(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    position = fields.SmallIntField()
    sku = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200, default="")
    quantity = fields.IntField()
    unit_price_cents = fields.IntField()

    class Meta:
        table = "order_line"
        unique_together = (("order", "position"),)


# What happened to an order and who did it, oldest first: placed, paid, declined, cancelled
# by the reconciler, refunded... (A comment, not a docstring: Tortoise writes docstrings into
# the schema as table comments.)
class OrderEvent(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="events", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    actor = fields.CharField(max_length=64)  # checkout | reconciler | webhook | a staff id
    detail = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_event"


# Money given back: reserved on the order (refunded_cents) in the transaction that records
# the row, then paid out by the provider under the row's own idempotency key, so a retry, or
# the reconciler finishing a refund whose request died, never pays it twice. `request_key`
# is what makes a repeated request the same refund (its Idempotency-Key, or its amount).
class Refund(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="refunds", on_delete=fields.CASCADE
    )
    request_key = fields.CharField(max_length=300)
    amount_cents = fields.BigIntField()
    state = fields.CharField(max_length=16, default="pending")  # pending | done | refused
    reference = fields.CharField(max_length=128, null=True)  # the provider's refund
    actor = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    paid_out_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refund"
        unique_together = (("order", "request_key"),)
        indexes = (("state", "created_at"),)


# One row per Idempotency-Key: the primary key makes concurrent retries collide. The order id
# is chosen when the key is first claimed and kept by whoever takes the key over, so a key can
# only ever place that one order. `owner` is the fencing token of the checkout that holds the
# key until `lease_expires_at`; a holder that lost it can no longer place the order.
class IdempotencyRecord(Model):
    key = fields.CharField(max_length=255, primary_key=True)
    request_hash = fields.CharField(max_length=64)
    state = fields.CharField(max_length=16)  # in_progress | done
    response_status = fields.SmallIntField(null=True)
    order_id = fields.CharField(max_length=40, null=True)
    owner = fields.CharField(max_length=32, default="")
    lease_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "idempotency_key"
        indexes = (("state", "lease_expires_at"),)


# The owner's prices for shipping, tax and discounts. Checkout reads them and prices each order
# itself, so what a client sends can choose among them but never change them.


# A way to ship: its price (free from `free_over_cents` on, when set), how long it takes, and
# where it goes (`countries`: ISO codes; null: everywhere). The first by position that ships to
# an address is its default.
class ShippingMethod(Model):
    code = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=200)
    price_cents = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    free_over_cents = fields.BigIntField(null=True)
    min_days = fields.SmallIntField()
    max_days = fields.SmallIntField()
    countries = fields.JSONField(null=True)
    position = fields.SmallIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "shipping_method"


# Sales tax or VAT added to an order shipped to `country` (and `region`; "" for the whole
# country), in basis points (725: 7.25%); the region's own rate wins over the country's.
class TaxRate(Model):
    id = fields.IntField(primary_key=True)
    country = fields.CharField(max_length=2)
    region = fields.CharField(max_length=3, default="")
    name = fields.CharField(max_length=200)
    rate_bp = fields.IntField()
    on_shipping = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tax_rate"
        unique_together = (("country", "region"),)


# A code a shopper types at checkout: a percentage or an amount off the goods, or free
# shipping; from a minimum subtotal, within its dates, up to `max_redemptions` orders
# (`redemptions` counts them, taken in the transaction that places the order).
class DiscountCode(Model):
    code = fields.CharField(max_length=32, primary_key=True)
    kind = fields.CharField(max_length=16)  # percent | amount | free_shipping
    percent_off = fields.SmallIntField(null=True)
    amount_off_cents = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=3, null=True)
    min_subtotal_cents = fields.BigIntField(default=0)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    max_redemptions = fields.IntField(null=True)
    redemptions = fields.IntField(default=0)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "discount_code"
