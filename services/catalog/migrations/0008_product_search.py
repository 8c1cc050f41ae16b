"""Full-text search of products' names and descriptions, each database in its own way
(services.catalog.store reads them): on PostgreSQL a generated tsvector column, the name
weighted A and the description B, under a GIN index; on SQLite an FTS5 table with the Porter
stemmer, kept in step with `product` by triggers. The models do not name either: no ORM query
reads them."""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = {
    "postgres": [
        "ALTER TABLE product ADD COLUMN search tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', name), 'A') || "
        "setweight(to_tsvector('english', description), 'B')) STORED",
        "CREATE INDEX product_search_idx ON product USING GIN (search)",
    ],
    # Its own copy of the text, keyed by SKU: an external-content table would follow
    # product's rowid, which VACUUM may renumber (product's key is not an integer).
    # remove_diacritics 0: PostgreSQL's english dictionary keeps accents too.
    "sqlite": [
        "CREATE VIRTUAL TABLE product_search USING fts5(sku UNINDEXED, name, description, "
        "tokenize = 'porter unicode61 remove_diacritics 0')",
        "INSERT INTO product_search (sku, name, description) "
        "SELECT sku, name, description FROM product",
        "CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN "
        "INSERT INTO product_search (sku, name, description) "
        "VALUES (new.sku, new.name, new.description); END",
        "CREATE TRIGGER product_search_update AFTER UPDATE OF sku, name, description ON product "
        "BEGIN UPDATE product_search SET sku = new.sku, name = new.name, "
        "description = new.description WHERE sku = old.sku; END",
        "CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN "
        "DELETE FROM product_search WHERE sku = old.sku; END",
    ],
}
BACKWARD = {
    "postgres": [
        "DROP INDEX product_search_idx",
        "ALTER TABLE product DROP COLUMN search",
    ],
    "sqlite": [
        "DROP TRIGGER product_search_delete",
        "DROP TRIGGER product_search_update",
        "DROP TRIGGER product_search_insert",
        "DROP TABLE product_search",
    ],
}


async def _run(statements: dict[str, list[str]], schema_editor: Any) -> None:
    for statement in statements[schema_editor.DIALECT]:
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(statement)
        else:
            await schema_editor.client.execute_query(statement)


async def add_search(apps: Any, schema_editor: Any) -> None:
    await _run(FORWARD, schema_editor)


async def remove_search(apps: Any, schema_editor: Any) -> None:
    await _run(BACKWARD, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("models", "0007_upload_steps")]

    initial = False

    operations = [ops.RunPython(add_search, remove_search)]
