from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0005_product_photos")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AdminAction",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("actor", fields.CharField(db_index=True, max_length=64)),
                ("operation", fields.CharField(max_length=64)),
                ("target", fields.CharField(db_index=True, max_length=200)),
                ("body_fields", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("status", fields.SmallIntField()),
                ("request_id", fields.CharField(max_length=64)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
                ),
            ],
            options={"table": "admin_action", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
