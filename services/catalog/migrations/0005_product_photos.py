from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0004_model_jobs")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ProductImage",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40),
                ),
                (
                    "product",
                    fields.ForeignKeyField(
                        "models.Product",
                        source_field="product_id",
                        db_constraint=True,
                        to_field="sku",
                        related_name="images",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField()),
                ("key", fields.CharField(db_index=True, max_length=255)),
                ("width", fields.IntField()),
                ("height", fields.IntField()),
                ("bytes", fields.BigIntField()),
                ("alt", fields.TextField(unique=False)),
                ("variants", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "product_image", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="ModelUpload",
            name="alt",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="ModelUpload",
            name="kind",
            field=fields.CharField(default="model", max_length=16),
        ),
    ]
