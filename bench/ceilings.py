"""What bench/http_load.py holds the storefront's figures against, served by Sanic with the same
worker count as a service (one process), so that a ratio is what the project's own code
costs and not what the machine, Sanic or the emulator cost anyway.

    python bench/ceilings.py ceilings --port P --catalog-db URL --orders-db URL --environment E
    python bench/ceilings.py peers --port P --product-file F

`ceilings`:
- `GET /bare`: a constant JSON answer (what Sanic itself costs);
- `GET /pk/<sku>`: one primary-key read of a product row with asyncpg, its pool sized as
  Tortoise sizes the services' (1 to 5 connections), the row as JSON;
- `PUT /dynamo/<cart_id>`: one aiobotocore `UpdateItem` on the carts table of the same
  emulator, with the services' client settings;
- `PUT /dynamo/<cart_id>/items/<sku>/<quantity>`: the cart's own `UpdateItem` of a line
  (`services.cart.store.line_update`, its conditions included), alone, as above;
- `POST /checkout/<sku>`: a checkout as one raw asyncpg transaction on the orders service's
  own tables: stock taken (never below zero), its movement, the order and its line.

`peers`: a cart, a catalog and SES that answer from memory, for the orders service's checkout
and its mail sender measured on their own (the emulator's DynamoDB, and its SES, would cap
them first): every cart holds one of the product in `--product-file`, removing a line leaves
it there, and SES v2's `SendEmail` (the mail sender's SDK call, signed and sent as to AWS)
takes every email. And DynamoDB, for a cart service and the ceilings measured without the
emulator: every `UpdateItem` answers the cart it names holding one of that product, as the
bench's carts do; any other call (the cart's health check) answers nothing.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petshore.aws import open_client  # noqa: E402
from petshore.contract import CARTS  # noqa: E402
from petshore.settings import CommonSettings  # noqa: E402
from services.cart import rules  # noqa: E402
from services.cart.store import ADDED, QUANTITIES, line_update  # noqa: E402

# Tortoise's asyncpg client: minsize 1, maxsize 5 unless the URL says otherwise.
POOL = {"min_size": 1, "max_size": 5}
ADDRESS = json.dumps({"name": "Bench", "line1": "1 Loop", "city": "Here", "country": "US"})


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def ceilings_app(catalog_db: str, orders_db: str, environment: str) -> Sanic:
    app = Sanic("ceilings")
    table = CARTS.name(environment)

    @app.before_server_start
    async def start(app: Sanic) -> None:
        app.ctx.catalog = await asyncpg.create_pool(catalog_db, **POOL)
        app.ctx.orders = await asyncpg.create_pool(orders_db, **POOL)
        app.ctx.aws = AsyncExitStack()
        app.ctx.dynamodb = await open_client(app.ctx.aws, "dynamodb", CommonSettings.from_env())

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await app.ctx.catalog.close()
        await app.ctx.orders.close()
        await app.ctx.aws.aclose()

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.get("/bare")
    async def bare(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.get("/pk/<sku>")
    async def primary_key(request: Request, sku: str) -> HTTPResponse:
        row = await request.app.ctx.catalog.fetchrow("SELECT * FROM product WHERE sku = $1", sku)
        if row is None:
            return json_response({"error": "not found"}, status=404)
        return json_response(_plain(row))

    @app.put("/dynamo/<cart_id>")
    async def dynamo(request: Request, cart_id: str) -> HTTPResponse:
        found = await request.app.ctx.dynamodb.update_item(
            TableName=table,
            Key={CARTS.hash_key: {"S": cart_id}},
            UpdateExpression="SET #q = :q",
            ExpressionAttributeNames={"#q": "bench_quantity"},
            ExpressionAttributeValues={":q": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
        return json_response({"cart_id": found["Attributes"][CARTS.hash_key]["S"]})

    @app.put("/dynamo/<cart_id>/items/<sku>/<quantity:int>")
    async def dynamo_line(request: Request, cart_id: str, sku: str, quantity: int) -> HTTPResponse:
        update = line_update(table, cart_id, sku, quantity, time.time())
        found = await request.app.ctx.dynamodb.update_item(**update)
        return json_response({"cart_id": found["Attributes"][CARTS.hash_key]["S"]})

    @app.post("/checkout/<sku>")
    async def checkout(request: Request, sku: str) -> HTTPResponse:
        order_id = "bench_" + secrets.token_hex(12)
        now = datetime.now(UTC)
        async with request.app.ctx.orders.acquire() as connection, connection.transaction():
            left = await connection.fetchval(
                "UPDATE inventory SET available = available - 1, updated_at = $2"
                " WHERE sku = $1 AND available >= 1 RETURNING available",
                sku,
                now,
            )
            if left is None:
                return json_response({"error": "out of stock"}, status=409)
            await connection.execute(
                "INSERT INTO stock_movement (sku, delta, available, reason, actor, created_at)"
                " VALUES ($1, -1, $2, 'order', 'checkout', $3)",
                sku,
                left,
                now,
            )
            await connection.execute(
                'INSERT INTO "order" (id, status, email, shipping_address, ship_to_name,'
                " currency, subtotal_cents, shipping_cents, tax_cents, discount_cents,"
                " total_cents, refunded_cents, shipping_method, shipping_method_name, cart_id,"
                " idempotency_key, created_at, updated_at) VALUES ($1, 'paid',"
                " 'bench@example.com', $2, 'Bench', 'USD', 1000, 0, 0, 0, 1000, 0, 'standard',"
                " 'Standard', 'bench', $1, $3, $3)",
                order_id,
                ADDRESS,
                now,
            )
            await connection.execute(
                "INSERT INTO order_line (order_id, position, sku, name, quantity,"
                " unit_price_cents) VALUES ($1, 0, $2, 'Bench', 1, 1000)",
                order_id,
                sku,
            )
        return json_response({"id": order_id, "status": "paid"}, status=201)

    return app


def peers_app(product: dict[str, Any]) -> Sanic:
    app = Sanic("peers")
    sku = product["sku"]

    def cart(cart_id: str) -> dict[str, Any]:
        return {"cart_id": cart_id, "items": [{"sku": sku, "quantity": 1}]}

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.get("/api/cart/carts/<cart_id>")
    async def get_cart(request: Request, cart_id: str) -> HTTPResponse:
        return json_response(cart(cart_id))

    @app.delete("/api/cart/carts/<cart_id>/items/<_sku>")
    async def remove_line(request: Request, cart_id: str, _sku: str) -> HTTPResponse:
        return json_response(cart(cart_id))

    @app.get("/api/catalog/products")
    async def get_products(request: Request) -> HTTPResponse:
        wanted = request.args.get("skus", "").split(",")
        return json_response({"items": [product] if sku in wanted else [], "next_cursor": None})

    held = {"M": {sku: {"N": "1"}}}

    @app.post("/")
    async def dynamodb(request: Request) -> HTTPResponse:
        answer: dict[str, Any] = {}
        if request.headers.get("X-Amz-Target", "").endswith(".UpdateItem"):
            answer["Attributes"] = {
                **json.loads(request.body)["Key"],
                QUANTITIES: held,
                ADDED: held,
                "version": {"N": "1"},
                CARTS.ttl_attribute: {"N": str(rules.expires_at(time.time()))},
            }
        return json_response(answer, content_type="application/x-amz-json-1.0")

    @app.post("/v2/email/outbound-emails")
    async def send_email(request: Request) -> HTTPResponse:
        return json_response({"MessageId": secrets.token_hex(16)})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["ceilings", "peers"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--catalog-db")
    parser.add_argument("--orders-db")
    parser.add_argument("--environment")
    parser.add_argument("--product-file", type=Path)
    args = parser.parse_args()
    if args.kind == "ceilings":
        app = ceilings_app(args.catalog_db, args.orders_db, args.environment)
    else:
        app = peers_app(json.loads(args.product_file.read_text()))
    app.run(host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
