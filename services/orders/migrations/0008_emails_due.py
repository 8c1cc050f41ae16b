"""The orders whose email is still due, indexed apart: the mail sender looks for them every
half second (services/orders/store.claim_due). PostgreSQL builds them CONCURRENTLY, so the
checkouts of a shop being upgraded are not held while it reads the orders table; that cannot
run inside a transaction, hence a migration that is not atomic."""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Index, the column it orders by, and the condition that makes an order's email due.
DUE = (
    ("order_confirmation_due", "paid_at", "status = 'paid' AND confirmation_sent_at IS NULL"),
    (
        "order_shipping_due",
        "fulfilled_at",
        "status = 'fulfilled' AND shipping_sent_at IS NULL",
    ),
)


def _concurrently(schema_editor: Any) -> str:
    return "CONCURRENTLY " if schema_editor.client.capabilities.dialect == "postgres" else ""


async def create_indexes(apps: Any, schema_editor: Any) -> None:
    how = _concurrently(schema_editor)
    for name, column, condition in DUE:
        # A build that stopped half-way leaves an unusable index behind: start afresh.
        await schema_editor.client.execute_script(f'DROP INDEX {how}IF EXISTS "{name}"')
        await schema_editor.client.execute_script(
            f'CREATE INDEX {how}"{name}" ON "order" ({column}) WHERE {condition}'
        )


async def drop_indexes(apps: Any, schema_editor: Any) -> None:
    how = _concurrently(schema_editor)
    for name, _, _ in DUE:
        await schema_editor.client.execute_script(f'DROP INDEX {how}IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("models", "0007_low_stock")]

    initial = False
    atomic = False

    operations = [ops.RunPython(create_indexes, drop_indexes, atomic=False)]
