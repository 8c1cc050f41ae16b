from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.migrations.schema_editor.base import BaseSchemaEditor

# A shop can take orders before its owner sets prices: standard shipping, free, everywhere;
# express within the US. No tax and no codes until the owner adds them.
DEFAULT_SHIPPING = """
INSERT INTO shipping_method
    (code, name, price_cents, currency, free_over_cents, min_days, max_days, countries,
     position, updated_at)
VALUES
    ('standard', 'Standard shipping', 0, 'USD', NULL, 3, 7, NULL, 0, CURRENT_TIMESTAMP),
    ('express', 'Express shipping', 1500, 'USD', NULL, 1, 2, '["US"]', 1, CURRENT_TIMESTAMP)
"""


async def add_default_shipping(apps: object, editor: BaseSchemaEditor) -> None:
    await editor.client.execute_script(DEFAULT_SHIPPING)


class Migration(migrations.Migration):
    dependencies = [("models", "0005_admin_actions")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DiscountCode",
            fields=[
                (
                    "code",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                ("kind", fields.CharField(max_length=16)),
                ("percent_off", fields.SmallIntField(null=True)),
                ("amount_off_cents", fields.BigIntField(null=True)),
                ("currency", fields.CharField(null=True, max_length=3)),
                ("min_subtotal_cents", fields.BigIntField(default=0)),
                ("starts_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("max_redemptions", fields.IntField(null=True)),
                ("redemptions", fields.IntField(default=0)),
                ("active", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "discount_code", "app": "models", "pk_attr": "code"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ShippingMethod",
            fields=[
                (
                    "code",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                ("name", fields.CharField(max_length=200)),
                ("price_cents", fields.BigIntField()),
                ("currency", fields.CharField(max_length=3)),
                ("free_over_cents", fields.BigIntField(null=True)),
                ("min_days", fields.SmallIntField()),
                ("max_days", fields.SmallIntField()),
                ("countries", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("position", fields.SmallIntField(default=0)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "shipping_method", "app": "models", "pk_attr": "code"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TaxRate",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("country", fields.CharField(max_length=2)),
                ("region", fields.CharField(default="", max_length=3)),
                ("name", fields.CharField(max_length=200)),
                ("rate_bp", fields.IntField()),
                ("on_shipping", fields.BooleanField(default=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "tax_rate",
                "app": "models",
                "unique_together": (("country", "region"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Order",
            name="discount_code",
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name="Order",
            name="shipping_method",
            field=fields.CharField(default="", max_length=32),
        ),
        ops.AddField(
            model_name="Order",
            name="shipping_method_name",
            field=fields.CharField(default="", max_length=200),
        ),
        ops.RunPython(add_default_shipping, ops.RunPython.noop),
    ]
