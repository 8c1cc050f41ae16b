"""The orders service's tables."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Inventory(Model):
    sku = fields.CharField(max_length=64, primary_key=True)
    available = fields.IntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "inventory"


class Order(Model):
    id = fields.CharField(max_length=40, primary_key=True)
    status = fields.CharField(max_length=20, db_index=True)
    email = fields.CharField(max_length=254)
    shipping_address = fields.JSONField()
    currency = fields.CharField(max_length=3)
    total_cents = fields.BigIntField()
    cart_id = fields.CharField(max_length=64)
    payment_reference = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
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
    quantity = fields.IntField()
    unit_price_cents = fields.IntField()

    class Meta:
        table = "order_line"
        unique_together = (("order", "position"),)


# One row per Idempotency-Key: the primary key makes concurrent retries collide. (A comment,
# not a docstring: Tortoise writes docstrings into the schema as table comments.)
class IdempotencyRecord(Model):
    key = fields.CharField(max_length=255, primary_key=True)
    request_hash = fields.CharField(max_length=64)
    state = fields.CharField(max_length=16)  # in_progress | done
    response_status = fields.SmallIntField(null=True)
    order_id = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_key"
