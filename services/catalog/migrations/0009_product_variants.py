from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class AddColumn(ops.AddField):
    """Undone by DROP COLUMN: SQLite's own way, rebuilding the table, would drop the search
    triggers that migration 0008 put on it."""

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is None:
            return
        table = old_state.apps.get_model(f"{app_label}.{self.model_name}")._meta.db_table
        statement = f'ALTER TABLE "{table}" DROP COLUMN "{self.name}"'
        if state_editor.collect_sql:
            state_editor.collected_sql.append(statement)
        else:
            await state_editor.client.execute_query(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_product_search")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ProductVariant",
            fields=[
                (
                    "sku",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                (
                    "product",
                    fields.ForeignKeyField(
                        "models.Product",
                        source_field="product_id",
                        db_constraint=True,
                        to_field="sku",
                        related_name="variants",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField()),
                ("options", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("price_cents", fields.IntField(null=True)),
                ("status", fields.CharField(default="active", max_length=16)),
                ("material_variant", fields.CharField(null=True, max_length=64)),
            ],
            options={
                "table": "product_variant",
                "app": "models",
                "indexes": [Index(fields=["product_id", "position"])],
                "pk_attr": "sku",
            },
            bases=["Model"],
        ),
        AddColumn(
            model_name="Product",
            name="options",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
