from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Customer",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40),
                ),
                ("email", fields.CharField(max_length=254)),
                ("email_key", fields.CharField(unique=True, max_length=254)),
                ("name", fields.CharField(max_length=200)),
                ("password_hash", fields.CharField(max_length=255)),
                ("role", fields.CharField(default="customer", db_index=True, max_length=16)),
                (
                    "default_shipping_address",
                    fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
                ),
                ("cart_id", fields.CharField(null=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "customer", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
