from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.schema_editor.base import BaseSchemaEditor

# Orders placed before the search by name existed: their name is in the address.
BACKFILL = {
    "postgres": """UPDATE "order" SET ship_to_name = COALESCE(shipping_address->>'name', '')""",
    "sqlite": """UPDATE "order" SET ship_to_name = COALESCE(json_extract(shipping_address, '$.name'), '')""",
}


async def backfill_names(apps: object, editor: BaseSchemaEditor) -> None:
    await editor.client.execute_script(BACKFILL[editor.client.capabilities.dialect])


class Migration(migrations.Migration):
    dependencies = [("models", "0003_confirmation_emails")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Refund",
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
                        related_name="refunds",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("request_key", fields.CharField(max_length=300)),
                ("amount_cents", fields.BigIntField()),
                ("state", fields.CharField(default="pending", max_length=16)),
                ("reference", fields.CharField(null=True, max_length=128)),
                ("actor", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "paid_out_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "refund",
                "app": "models",
                "unique_together": (("order", "request_key"),),
                "indexes": [Index(fields=["state", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Order",
            name="carrier",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="Order",
            name="fulfilled_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Order",
            name="ship_to_name",
            field=fields.CharField(default="", max_length=200),
        ),
        ops.RunPython(backfill_names, ops.RunPython.noop),
        ops.AddField(
            model_name="Order",
            name="shipping_claimed_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Order",
            name="shipping_sent_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Order",
            name="tracking_number",
            field=fields.CharField(null=True, max_length=128),
        ),
    ]
