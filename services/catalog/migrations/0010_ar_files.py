from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class AddColumn(ops.AddField):
    """Undone by DROP COLUMN: SQLite's own way, rebuilding the table, would drop the search
    triggers that migration 0008 put on it. (0009's class, copied: a migration stays as it
    was written.)"""

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
    dependencies = [("models", "0009_product_variants")]

    initial = False

    operations = [
        AddColumn(
            model_name="Product",
            name="model_ar_key",
            field=fields.CharField(null=True, max_length=255),
        ),
        AddColumn(
            model_name="Product",
            name="model_usdz_key",
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
