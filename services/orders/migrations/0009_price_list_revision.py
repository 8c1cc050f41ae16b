"""The price list's revision: a token that changes with every change to the shipping methods or
the tax rates, made by triggers so that no write can forget it. Every checkout reads it with its
Idempotency-Key's claim, and prices from the copy of the list its process keeps while the token
stays the same (services/orders/store.price_list): two round trips fewer an order. A random
token, not a counter, so that a copy kept for one database is never taken for another's."""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

TABLES = ("shipping_method", "tax_rate")

POSTGRES = [
    'CREATE TABLE "price_list"'
    ' ("id" SMALLINT PRIMARY KEY CHECK ("id" = 1), "revision" TEXT NOT NULL)',
    """INSERT INTO "price_list" VALUES (1, gen_random_uuid()::text)""",
    """CREATE FUNCTION price_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE "price_list" SET "revision" = gen_random_uuid()::text;
        RETURN NULL;
    END $$""",
    *(
        f'CREATE TRIGGER "{table}_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE'
        f' ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION price_list_changed()'
        for table in TABLES
    ),
]
SQLITE = [
    'CREATE TABLE "price_list"'
    ' ("id" INTEGER PRIMARY KEY CHECK ("id" = 1), "revision" TEXT NOT NULL)',
    """INSERT INTO "price_list" VALUES (1, lower(hex(randomblob(16))))""",
    *(
        f'CREATE TRIGGER "{table}_{event.lower()}" AFTER {event} ON "{table}" BEGIN'
        ' UPDATE "price_list" SET "revision" = lower(hex(randomblob(16))); END'
        for table in TABLES
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
]


async def create(apps: Any, schema_editor: Any) -> None:
    postgres = schema_editor.client.capabilities.dialect == "postgres"
    for statement in POSTGRES if postgres else SQLITE:
        await schema_editor.client.execute_script(statement)


async def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        for table in TABLES:
            await schema_editor.client.execute_script(
                f'DROP TRIGGER IF EXISTS "{table}_changed" ON "{table}"'
            )
        await schema_editor.client.execute_script("DROP FUNCTION IF EXISTS price_list_changed()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                await schema_editor.client.execute_script(
                    f'DROP TRIGGER IF EXISTS "{table}_{event}"'
                )
    await schema_editor.client.execute_script('DROP TABLE IF EXISTS "price_list"')


class Migration(migrations.Migration):
    dependencies = [("models", "0008_emails_due")]

    initial = False

    operations = [ops.RunPython(create, drop)]
