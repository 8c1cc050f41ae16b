import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255),
                ),
                ("request_hash", fields.CharField(max_length=64)),
                ("state", fields.CharField(max_length=16)),
                ("response_status", fields.SmallIntField(null=True)),
                ("order_id", fields.CharField(null=True, max_length=40)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "idempotency_key", "app": "models", "pk_attr": "key"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Inventory",
            fields=[
                (
                    "sku",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("available", fields.IntField()),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "inventory", "app": "models", "pk_attr": "sku"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Order",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40),
                ),
                ("status", fields.CharField(db_index=True, max_length=20)),
                ("email", fields.CharField(max_length=254)),
                (
                    "shipping_address",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("currency", fields.CharField(max_length=3)),
                ("total_cents", fields.BigIntField()),
                ("cart_id", fields.CharField(max_length=64)),
                ("payment_reference", fields.CharField(null=True, max_length=128)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "order", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OrderLine",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "order",
                    fields.ForeignKeyField(
                        "models.Order",
                        source_field="order_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="lines",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.SmallIntField()),
                ("sku", fields.CharField(max_length=64)),
                ("quantity", fields.IntField()),
                ("unit_price_cents", fields.IntField()),
            ],
            options={
                "table": "order_line",
                "app": "models",
                "unique_together": (("order", "position"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
