from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OrderEvent",
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
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=32)),
                ("actor", fields.CharField(max_length=64)),
                ("detail", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "order_event", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StockMovement",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("sku", fields.CharField(db_index=True, max_length=64)),
                ("delta", fields.IntField()),
                ("available", fields.IntField()),
                ("reason", fields.CharField(max_length=200)),
                ("actor", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "stock_movement", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="IdempotencyRecord",
            name="lease_expires_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="IdempotencyRecord",
            name="owner",
            field=fields.CharField(default="", max_length=32),
        ),
        ops.AddField(
            model_name="IdempotencyRecord",
            name="updated_at",
            field=fields.DatetimeField(auto_now=True, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="IdempotencyRecord",
            index=Index(fields=["state", "lease_expires_at"]),
        ),
        ops.AlterField(
            model_name="Order",
            name="created_at",
            field=fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
        ),
        ops.AddField(
            model_name="Order",
            name="customer_id",
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        ops.AddField(
            model_name="Order",
            name="discount_cents",
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name="Order",
            name="idempotency_key",
            field=fields.CharField(null=True, unique=True, max_length=255),
        ),
        ops.AddField(
            model_name="Order",
            name="paid_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Order",
            name="refunded_cents",
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name="Order",
            name="shipping_cents",
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name="Order",
            name="subtotal_cents",
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name="Order",
            name="tax_cents",
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name="OrderLine",
            name="name",
            field=fields.CharField(default="", max_length=200),
        ),
        # Orders placed before amounts were itemised had only a total; keys claimed before
        # leases existed are stale now, so the reconciler may settle them.
        ops.RunSQL(
            [
                'UPDATE "order" SET subtotal_cents = total_cents WHERE subtotal_cents = 0',
                "UPDATE idempotency_key SET lease_expires_at = created_at"
                " WHERE lease_expires_at IS NULL",
            ]
        ),
    ]
