from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Category",
            fields=[
                (
                    "slug",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("name", fields.CharField(max_length=128)),
            ],
            options={"table": "category", "app": "models", "pk_attr": "slug"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Product",
            fields=[
                (
                    "sku",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("name", fields.CharField(max_length=200)),
                ("description", fields.TextField(unique=False)),
                (
                    "category",
                    fields.ForeignKeyField(
                        "models.Category",
                        source_field="category_id",
                        db_constraint=True,
                        to_field="slug",
                        related_name="products",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("price_cents", fields.IntField()),
                ("currency", fields.CharField(max_length=3)),
                ("status", fields.CharField(default="active", db_index=True, max_length=16)),
                ("model_glb_key", fields.CharField(null=True, max_length=255)),
                ("model_poster_key", fields.CharField(null=True, max_length=255)),
                ("model_bytes", fields.BigIntField(null=True)),
                ("model_original_bytes", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "product", "app": "models", "pk_attr": "sku"},
            bases=["Model"],
        ),
    ]
