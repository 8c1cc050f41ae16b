"""The storefront's hot paths under load, each beside its ceiling measured in the same run.

    .venv/bin/python bench/http_load.py [--seconds 5] [--runs 3] [--connections 1,16,64]
                                   [--sizes 1000,10000,100000] [--json out.json] [--statements]

Starts, on loopback only: a PostgreSQL server of its own, the AWS emulator (moto's server),
the storefront's services and gateway (one process each, as `make run`), the ceilings and the
in-memory peers of bench/ceilings.py, and a second orders service (and its mail sender) that
calls those peers. Then
wrk (Debian's package; installed when missing) loads each path (product detail and list, a
cart line set, a cart line added or taken out, checkout on the stack, each direct and through
the gateway, and checkout against the peers) for `--seconds`, `--runs` times
at each connection count, and prints the median rate, its p50/p99 latency, the CPU the serving
process spent per request, and its ratio to the ceiling; with `--sizes`, the catalog grows to
each size and the list, a search and checkout are measured again; with `--statements`, the
statements PostgreSQL spent most time on while each path was measured (pg_stat_statements),
everyone's (a checkout's mail sender's too). bench/README.md explains each ceiling and the
goals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import cpu_seconds  # noqa: E402
from devstack.emulator import emulator_process  # noqa: E402
from devstack.postgres import PostgresCluster  # noqa: E402
from devstack.processes import Child, Processes, free_port  # noqa: E402
from devstack.stack import Stack, StackConfig  # noqa: E402
from petshore.contract import CART, CATALOG, ORDERS, SEND_MAIL, SERVICES  # noqa: E402
from petshore.paging import encode_cursor  # noqa: E402
from tests.helpers import ADMIN, ADMIN_TOKEN, checkout_body  # noqa: E402

CARTS_IN_ROTATION = 256
# The line the cart's line in/out path adds and takes out: not a product (the cart leaves
# whether one exists to checkout), so it is in no cart until that path puts it there.
IN_OUT_SKU = "PS-BENCH-IN-OUT"
# Carts for checkouts on the stack itself, one a checkout, per second of a run: more than the
# emulator's DynamoDB lets it check out (each takes a cart's read and a line's removal).
CHECKOUT_CARTS_PER_SECOND = 250
CART_SLOT = "@CART@"
# The cart's own UpdateItem of a line, sent alone: what a cart PUT costs beyond it is the
# service's layers (Sanic, validation, the answer), not the call's size.
CART_CALL = "ceiling: cart's UpdateItem"
# The cart's paths and their calls are measured a second time paced to this rate, all its
# connections together (each waits its share before each request): below what the emulator
# takes of either call, so the plain call and the cart's run at nearly one rate. A Python
# process's CPU a request grows as its rate falls (most likely its caches gone cold between
# requests): one UpdateItem cost 1.6 ms at 224/s and 2.9 ms at 37/s (bench/README.md, session
# 28). Unpaced, the plain call runs near twice the rate of the cart's, whose conditions the
# emulator takes longer over, and its CPU a request is the lower for it.
PACE_RATE = 100
PACED = ", paced"
# The plain call, the cart's own and the cart's PUT are measured a third time against a
# DynamoDB that answers from memory (bench/ceilings.py's peers): as AWS's own, it keeps its
# connections open (the emulator's server closes each after one answer, so every call there
# opens one) and answers at once, so all three run warm at a rate of their own CPU, each
# beside the others with no emulator sharing the two cores.
IN_MEMORY = ", in memory"
VARIANTS = ("", PACED, IN_MEMORY)
# Longer than a request wrk left unanswered at the end of a run takes to finish.
IN_FLIGHT_SECONDS = 2.0
# Enough stock that no run sells out (the most the inventory API takes).
STOCK = 10_000_000

# What wrk prints when a run ends: one JSON line, read back here. `used`: how many requests
# the scripts made (their global `n`), answered or not; wrk's first thread makes one more, to
# check the script, and never sends it.
DONE = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local e = summary.errors
  local used = 0
  for _, thread in ipairs(threads) do used = used + (thread:get("n") or 0) end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d, "used": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), used))
end
"""


@dataclass
class Figure:
    path: str
    route: str  # direct | gateway | ceiling
    connections: int
    rate: float  # requests per second, the median run's
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # the serving process's CPU per request
    errors: int  # answers of 4xx/5xx and socket errors, over every run
    size: int | None = None
    # Each run's rate and CPU per request, in the order of the rounds.
    runs: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Target:
    """One thing to load: a URL, the Lua that makes its requests, the process that serves it
    (whose CPU is read)."""

    path: str
    route: str
    url: str
    lua: str
    serving: Child
    # Called after each run with how many requests its script made: puts back what they
    # changed, so that every run starts from the same data.
    restore: Callable[[int], None] | None = None
    pace: int | None = None  # requests a second, all connections together; None: flat out


def paced(target: Target) -> Target:
    """`target` at `PACE_RATE` requests a second, or as near as its answers' latency allows."""
    return replace(target, path=target.path + PACED, pace=PACE_RATE)


def in_memory(target: Target, serving: Child) -> Target:
    """`target` sent to `serving`, a process whose DynamoDB answers from memory."""
    return replace(target, path=target.path + IN_MEMORY, url=serving.url or "", serving=serving)


def get(path: str) -> str:
    return f'request = function() return wrk.format("GET", "{path}") end\n'


def _in_turn(carts: list[str], make: str) -> str:
    """Lua whose requests go to each of `carts` in turn; `make` builds one from `cart` and `n`."""
    ids = ", ".join(f'"{c}"' for c in carts)
    return f"""
local carts = {{{ids}}}
n = 0
request = function()
  n = n + 1
  local cart = carts[(n - 1) % #carts + 1]
  {make}
end
"""


def cart_puts(prefix: str, carts: list[str], sku: str) -> str:
    """Each cart's line of `sku` set to 1 to 5 in turn."""
    return _in_turn(
        carts,
        f"""local body = '{{"quantity": ' .. (n % 5 + 1) .. '}}'
  return wrk.format("PUT", "{prefix}" .. cart .. "/items/{sku}",
    {{["Content-Type"] = "application/json"}}, body)""",
    )


def cart_lines_in_out(prefix: str, carts: list[str], sku: str) -> str:
    """Each cart in turn given a line of `sku`, which it does not hold, then, its next turn,
    that line taken out again (quantity 0): every request adds or removes a line."""
    return _in_turn(
        carts,
        f"""local body = '{{"quantity": ' .. (math.floor((n - 1) / #carts) + 1) % 2 .. '}}'
  return wrk.format("PUT", "{prefix}" .. cart .. "/items/{sku}",
    {{["Content-Type"] = "application/json"}}, body)""",
    )


def checkouts(path: str, carts: list[str]) -> str:
    """Checkouts, each of the next of `carts` (each holding a line) and with an
    Idempotency-Key of its own: a paid order empties its cart, so each is used once a run."""
    before, after = json.dumps(checkout_body(CART_SLOT)).replace("'", "\\'").split(CART_SLOT)
    return _in_turn(
        carts,
        f"""return wrk.format("POST", "{path}",
    {{["Content-Type"] = "application/json", ["Idempotency-Key"] = "KEYRUN-" .. n}},
    '{before}' .. cart .. '{after}')""",
    )


def dynamo_puts(carts: list[str]) -> str:
    return _in_turn(carts, 'return wrk.format("PUT", "/dynamo/" .. cart)')


def dynamo_line_puts(carts: list[str], sku: str) -> str:
    """The cart's own `UpdateItem` of what `cart_puts` sends: each cart's line of `sku` set
    to 1 to 5 in turn."""
    return _in_turn(
        carts, f'return wrk.format("PUT", "/dynamo/" .. cart .. "/items/{sku}/" .. (n % 5 + 1))'
    )


def posts(path: str, body: dict[str, Any] | None, keyed: bool) -> str:
    """POSTs of `body`; `keyed`: each with an Idempotency-Key of its own."""
    text = json.dumps(body or {}).replace("'", "\\'")
    key = '["Idempotency-Key"] = "KEYRUN-" .. n,' if keyed else ""
    return f"""
n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "{path}",
    {{["Content-Type"] = "application/json", {key}}}, '{text}')
end
"""


def run_wrk(target: Target, connections: int, seconds: int, folder: Path) -> dict[str, Any]:
    script = folder / "script.lua"
    # Fresh keys every run: a checkout's key must never repeat.
    lua = target.lua.replace("KEYRUN", secrets.token_hex(4))
    if target.pace:
        # wrk waits this many milliseconds before each request of a connection.
        lua += f"delay = function() return {connections * 1000 // target.pace} end\n"
    script.write_text(lua + DONE)
    before = cpu_seconds([target.serving.process.pid])
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    spent = cpu_seconds([target.serving.process.pid]) - before
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if target.restore is not None:
        # Requests still on their way when wrk stopped were not counted (one a connection at
        # most); they finish first, a checkout even when its client went away.
        time.sleep(IN_FLIGHT_SECONDS)
        target.restore(found["used"])
    requests = max(found["requests"], 1)
    found["rate"] = found["requests"] / (found["duration_us"] / 1e6)
    found["cpu_ms"] = spent * 1000 / requests
    return found


def measure(
    target: Target, connections: int, seconds: int, runs: int, folder: Path, size: int | None
) -> Figure:
    found = [run_wrk(target, connections, seconds, folder) for _ in range(runs)]
    return median_figure(target, connections, found, size)


def median_figure(
    target: Target, connections: int, found: list[dict[str, Any]], size: int | None
) -> Figure:
    """The median of a path's runs."""
    results = sorted(found, key=lambda r: r["rate"])
    median = results[len(results) // 2]
    return Figure(
        path=target.path,
        route=target.route,
        connections=connections,
        rate=round(median["rate"], 1),
        p50_ms=round(median["p50_us"] / 1000, 2),
        p99_ms=round(median["p99_us"] / 1000, 2),
        cpu_ms=round(statistics.median(r["cpu_ms"] for r in results), 3),
        errors=sum(r["status_errors"] + r["socket_errors"] for r in results),
        size=size,
        runs=[(round(r["rate"], 1), round(r["cpu_ms"], 3)) for r in found],
    )


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


@dataclass
class Bench:
    stack: Stack
    cluster: PostgresCluster
    ceilings: Child
    peers: Child
    lone_orders: Child  # an orders service whose cart and catalog answer from memory
    lone_mail: Child  # its mail sender, whose SES answers from memory
    lone_cart: Child  # a cart service whose DynamoDB answers from memory
    memory_ceilings: Child  # the ceilings, their DynamoDB answering from memory
    sku: str
    carts: list[str]  # carts the cart's paths write to in turn
    checkout_carts: list[str]  # carts for checkouts on the stack, each used once a run

    def refill_checkout_carts(self, used: int) -> None:
        """The line put back in the carts a run's checkouts emptied (all of them, when
        there were more checkouts than carts)."""
        cart_url = self.stack.urls[CART.name][0]
        asyncio.run(fill_carts(cart_url, self.sku, self.checkout_carts[:used]))

    def take_out_in_out_lines(self, used: int) -> None:
        """The line of IN_OUT_SKU taken out of every cart a run of the line in/out path sent
        to: a run that stops between a cart's two requests leaves it there, and carts that
        grew a line every run would make each run's figures costlier than the one before."""
        cart_url = self.stack.urls[CART.name][0]
        asyncio.run(fill_carts(cart_url, IN_OUT_SKU, self.carts[:used], quantity=0))

    def targets(self) -> list[tuple[Target, Target | None]]:
        """Each measured path with the ceiling its ratio is taken to."""
        stack = self.stack
        catalog, cart = stack.urls[CATALOG.name][0], stack.urls[CART.name][0]
        gateway = stack.gateway_url
        serving = {c.name: c for c in stack.processes.children}
        detail = f"{CATALOG.path_prefix}products/{self.sku}"
        listing = f"{CATALOG.path_prefix}products?limit=20"
        put = cart_puts(f"{CART.path_prefix}carts/", self.carts, self.sku)
        in_out = cart_lines_in_out(f"{CART.path_prefix}carts/", self.carts, IN_OUT_SKU)
        orders = f"{ORDERS.path_prefix}orders"
        stack_checkouts = checkouts(orders, self.checkout_carts)
        refill = self.refill_checkout_carts
        take_out = self.take_out_in_out_lines
        ceiling = self.ceilings
        pk = Target(
            "ceiling: asyncpg read", "ceiling", ceiling.url, get(f"/pk/{self.sku}"), ceiling
        )
        dynamo = Target(
            "ceiling: aiobotocore call",
            "ceiling",
            ceiling.url,
            dynamo_puts(self.carts),
            ceiling,
        )
        cart_call = Target(
            CART_CALL, "ceiling", ceiling.url, dynamo_line_puts(self.carts, self.sku), ceiling
        )
        dynamo_paced = paced(dynamo)
        dynamo_memory = in_memory(dynamo, self.memory_ceilings)
        raw_checkout = Target(
            "ceiling: asyncpg checkout",
            "ceiling",
            ceiling.url,
            posts(f"/checkout/{self.sku}", None, keyed=False),
            ceiling,
        )
        checkout = posts(orders, checkout_body("bench-cart"), keyed=True)
        detail_direct = Target(
            "product detail", "direct", catalog, get(detail), serving["catalog-0"]
        )
        cart_put = Target("cart PUT", "direct", cart, put, serving["cart-0"])
        cart_in_out = Target(
            "cart PUT, line in/out", "direct", cart, in_out, serving["cart-0"], take_out
        )
        checkout_direct = Target(
            "checkout",
            "direct",
            stack.urls[ORDERS.name][0],
            stack_checkouts,
            serving[f"{ORDERS.name}-0"],
            refill,
        )
        return [
            (Target("bare Sanic", "ceiling", ceiling.url, get("/bare"), ceiling), None),
            (pk, None),
            (detail_direct, pk),
            (
                Target("product detail", "gateway", gateway, get(detail), serving["gateway"]),
                detail_direct,
            ),
            (
                Target("product list (20)", "direct", catalog, get(listing), serving["catalog-0"]),
                pk,
            ),
            (
                Target("product list (20)", "gateway", gateway, get(listing), serving["gateway"]),
                None,
            ),
            (dynamo, None),
            (cart_call, None),
            (cart_put, dynamo),
            (Target("cart PUT", "gateway", gateway, put, serving["gateway"]), None),
            (cart_in_out, dynamo),
            (
                Target(
                    "cart PUT, line in/out",
                    "gateway",
                    gateway,
                    in_out,
                    serving["gateway"],
                    take_out,
                ),
                None,
            ),
            (dynamo_paced, None),
            (paced(cart_call), None),
            (paced(cart_put), dynamo_paced),
            (paced(cart_in_out), dynamo_paced),
            (dynamo_memory, None),
            (in_memory(cart_call, self.memory_ceilings), None),
            (in_memory(cart_put, self.lone_cart), dynamo_memory),
            (checkout_direct, None),
            (
                Target("checkout", "gateway", gateway, stack_checkouts, serving["gateway"], refill),
                checkout_direct,
            ),
            (raw_checkout, None),
            (
                Target(
                    "checkout, peers in memory",
                    "direct",
                    self.lone_orders.url,
                    checkout,
                    self.lone_orders,
                ),
                raw_checkout,
            ),
        ]


@contextmanager
def bench_stack(folder: Path, statements: bool, seconds: int) -> Iterator[Bench]:
    cluster = PostgresCluster(STATEMENT_SETTINGS if statements else ())
    cluster.create()
    cluster.start()
    try:
        cluster.create_databases(*(s.database for s in SERVICES if s.database))
        if statements:
            asyncio.run(_statements(cluster.url(), "CREATE EXTENSION pg_stat_statements"))
        with emulator_process(folder / "emulator.log") as aws:
            stack = Stack(
                StackConfig(
                    database_urls={s.name: cluster.url(s.database) for s in SERVICES if s.database},
                    aws_endpoint_url=aws,
                    admin_token=ADMIN_TOKEN,
                    gateway_port=free_port(),
                    log_dir=folder / "log",
                    environment="bench",
                    service_ports={s.name: [free_port()] for s in SERVICES},
                    load_demo=False,
                )
            )
            try:
                stack.start()
                yield prepare(stack, cluster, folder, seconds)
            finally:
                stack.stop()
    finally:
        cluster.remove()


def prepare(stack: Stack, cluster: PostgresCluster, folder: Path, seconds: int) -> Bench:
    """A product in stock, carts holding it (enough for the checkouts of a run of `seconds`),
    the ceilings and the memory peers started."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        sku = "PS-BENCH-1"
        created = client.post(
            f"{CATALOG.path_prefix}products",
            headers=ADMIN,
            json={
                "sku": sku,
                "name": "Bench chew toy",
                "description": "A product that bench/http_load.py reads and sells",
                "category": "toys",
                "price_cents": 1000,
                "currency": "USD",
            },
        )
        created.raise_for_status()
        client.put(
            f"{ORDERS.path_prefix}inventory/{sku}", headers=ADMIN, json={"available": STOCK}
        ).raise_for_status()
        product = client.get(f"{CATALOG.path_prefix}products/{sku}").json()
    cart_url = stack.urls[CART.name][0]
    carts = asyncio.run(fill_carts(cart_url, sku, [None] * CARTS_IN_ROTATION))
    checkout_carts = asyncio.run(
        fill_carts(cart_url, sku, [None] * (CHECKOUT_CARTS_PER_SECOND * seconds))
    )
    product_file = folder / "product.json"
    product_file.write_text(json.dumps(product))
    env = stack.env()
    processes: Processes = stack.processes
    bench_script = str(ROOT / "bench" / "ceilings.py")
    ceilings_args = (
        bench_script,
        "ceilings",
        "--catalog-db",
        cluster.url(CATALOG.database or ""),
        "--orders-db",
        cluster.url(ORDERS.database or ""),
        "--environment",
        stack.config.environment,
    )
    ceilings = _start_script(processes, "ceilings", env, *ceilings_args)
    peers = _start_script(
        processes, "peers", env, bench_script, "peers", "--product-file", str(product_file)
    )
    lone_env = {
        **env,
        CART.url_variable: peers.url or "",
        CATALOG.url_variable: peers.url or "",
        # The SDK's own per-service endpoint setting: SES alone goes to the peers.
        "AWS_ENDPOINT_URL_SESV2": peers.url or "",
    }
    lone_orders = processes.start(
        "orders-lone", ORDERS.module, free_port(), lone_env, ORDERS.health_path
    )
    # One sender for the orders database: the one whose SES answers from memory (the stack's
    # would send the bench's emails through the emulator, and its CPU would be the emulator's).
    processes.stop(next(c for c in processes.children if c.name == f"{ORDERS.name}-{SEND_MAIL}"))
    lone_mail = processes.start("send-mail-lone", ORDERS.module, None, lone_env, command=SEND_MAIL)
    # The SDK's per-service endpoint setting again: DynamoDB alone goes to the peers.
    memory_env = {**env, "AWS_ENDPOINT_URL_DYNAMODB": peers.url or ""}
    lone_cart = processes.start("cart-lone", CART.module, free_port(), memory_env, CART.health_path)
    memory_ceilings = _start_script(processes, "ceilings-memory", memory_env, *ceilings_args)
    processes.wait_healthy()
    return Bench(
        stack,
        cluster,
        ceilings,
        peers,
        lone_orders,
        lone_mail,
        lone_cart,
        memory_ceilings,
        sku,
        carts,
        checkout_carts,
    )


async def fill_carts(
    cart_url: str, sku: str, carts: Sequence[str | None], quantity: int = 1
) -> list[str]:
    """Each of `carts` (None: a new one) holding `quantity` of `sku` (0: none), sixteen at a
    time; their ids."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=cart_url, timeout=30) as client:

        async def fill(cart_id: str | None) -> str:
            async with gate:
                if cart_id is None:
                    made = await client.post(f"{CART.path_prefix}carts")
                    cart_id = str(made.raise_for_status().json()["cart_id"])
                line = f"{CART.path_prefix}carts/{cart_id}/items/{sku}"
                (await client.put(line, json={"quantity": quantity})).raise_for_status()
                return cart_id

        return list(await asyncio.gather(*(fill(c) for c in carts)))


def _start_script(processes: Processes, name: str, env: dict[str, str], *args: str) -> Child:
    """A bench/ceilings.py server, watched like the services (healthy once /health answers)."""
    port = free_port()
    log = (processes.log_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, *args, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    child = Child(name, f"http://127.0.0.1:{port}", "/health", process, Path(log.name))
    processes.children.append(child)
    return child


async def grow(catalog_url: str, orders_url: str, size: int) -> None:
    """Products and past orders up to `size` each, inserted as the services would leave them
    (active products in ten categories with words to search for; paid orders with their
    idempotency keys), one statement a table."""
    catalog = await asyncpg.connect(catalog_url)
    try:
        have = await catalog.fetchval("SELECT count(*) FROM product")
        await catalog.execute(
            "INSERT INTO category (slug, name) SELECT 'bench-' || g, 'Bench ' || g"
            " FROM generate_series(0, 9) g ON CONFLICT DO NOTHING"
        )
        await catalog.execute(
            "INSERT INTO product (sku, name, description, category_id, price_cents, currency,"
            " status, created_at, updated_at)"
            " SELECT 'PS-GROW-' || lpad(g::text, 7, '0'), 'Grown '"
            " || (ARRAY['ball','rope','bed','bowl','leash'])[1 + g % 5] || ' ' || g,"
            " 'A product grown for scale, number ' || g, 'bench-' || (g % 10), 100 + g % 9000,"
            " 'USD', 'active', now() - g * interval '1 second', now()"
            " FROM generate_series($1::int, $2::int) g",
            have,
            size - 1,
        )
    finally:
        await catalog.close()
    orders = await asyncpg.connect(orders_url)
    try:
        have = await orders.fetchval('SELECT count(*) FROM "order"')
        await orders.execute(
            'INSERT INTO "order" (id, status, email, shipping_address, ship_to_name, currency,'
            " subtotal_cents, shipping_cents, tax_cents, discount_cents, total_cents,"
            " refunded_cents, shipping_method, shipping_method_name, cart_id, idempotency_key,"
            " created_at, updated_at) SELECT 'grown_' || g, 'paid', 'past@example.com',"
            " '{}'::jsonb, 'Past', 'USD', 1000, 0, 0, 0, 1000, 0, 'standard', 'Standard',"
            " 'past', 'grown-' || g, now() - g * interval '1 second', now()"
            " FROM generate_series($1::int, $2::int) g",
            have,
            size - 1,
        )
        await orders.execute(
            "INSERT INTO idempotency_key (key, request_hash, state, response_status,"
            " order_id, owner, created_at, updated_at) SELECT idempotency_key, '', 'done', 201,"
            " id, '', created_at, updated_at FROM \"order\" WHERE id LIKE 'grown\\_%'"
            " ON CONFLICT DO NOTHING"
        )
    finally:
        await orders.close()


async def _confirmations(orders_url: str) -> tuple[int, int]:
    """Paid orders whose confirmation is still due, and those whose confirmation went (the
    raw transaction's orders, paid at no recorded time, are never due)."""
    connection = await asyncpg.connect(orders_url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE confirmation_sent_at IS NULL) AS due,"
            " count(*) FILTER (WHERE confirmation_sent_at IS NOT NULL) AS sent"
            " FROM \"order\" WHERE status = 'paid' AND paid_at IS NOT NULL"
        )
    finally:
        await connection.close()
    return int(row["due"]), int(row["sent"])


def mail_figure(bench: Bench, wait_seconds: float = 600) -> Figure:
    """The checkouts' confirmation emails, sent by the mail sender beside the orders service
    while they ran and after: its CPU per email, once none is due any more (errors: those
    still due then)."""
    orders_url = bench.cluster.url(ORDERS.database or "")
    deadline = time.monotonic() + wait_seconds
    due, sent = asyncio.run(_confirmations(orders_url))
    while due and time.monotonic() < deadline:
        time.sleep(1)
        due, sent = asyncio.run(_confirmations(orders_url))
    spent = cpu_seconds([bench.lone_mail.process.pid])
    return Figure(
        "confirmation email", "sender", 0, 0, 0, 0, round(spent * 1000 / max(sent, 1), 3), due
    )


def paired(figure: Figure, ceiling: Figure, which: int) -> float:
    """`figure`'s rate (`which` 0) or CPU per request (1) against its ceiling's: the median
    of the ratios of runs of the same round, which the machine slowed or sped alike; of the
    medians when the two were not measured in the same rounds."""
    same_rounds = ceiling.runs and len(figure.runs) == len(ceiling.runs)
    if not same_rounds or not all(c[which] for c in ceiling.runs):
        return figure.rate / ceiling.rate if which == 0 else figure.cpu_ms / ceiling.cpu_ms
    pairs = zip(figure.runs, ceiling.runs, strict=True)
    return statistics.median(f[which] / c[which] for f, c in pairs)


def print_table(figures: list[Figure], ceilings: dict[tuple[str, str], tuple[str, str]]) -> None:
    by_key = {(f.path, f.route, f.connections, f.size): f for f in figures}
    print(
        f"{'path':<38}{'route':<9}{'size':>8}{'conns':>6}{'req/s':>10}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'cpu ms':>8}{'errors':>7}  ratio to ceiling"
    )
    for f in figures:
        ratio = ""
        ceiling_key = ceilings.get((f.path, f.route))
        if ceiling_key is not None:
            c = by_key.get((*ceiling_key, f.connections, None))
            if c is not None and c.rate:
                ratio = f"{paired(f, c, 0):.2f} of {c.path} ({c.route})"
                if "aiobotocore" in c.path and c.cpu_ms:
                    ratio += f"; cpu {paired(f, c, 1):.2f}x"
                variant = f.path.removeprefix("cart PUT")
                if f.route == "direct" and variant in VARIANTS:
                    own = by_key.get((CART_CALL + variant, "ceiling", f.connections, None))
                    if own and own.cpu_ms:
                        ratio += f", {paired(f, own, 1):.2f}x its own UpdateItem"
        size = str(f.size) if f.size else ""
        print(
            f"{f.path:<38}{f.route:<9}{size:>8}{f.connections:>6}{f.rate:>10.0f}{f.p50_ms:>9.2f}"
            f"{f.p99_ms:>9.2f}{f.cpu_ms:>8.3f}{f.errors:>7}  {ratio}"
        )


STATEMENT_SETTINGS = ("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all")
RESET_STATEMENTS = "SELECT pg_stat_statements_reset()"
# How many of the statements PostgreSQL spent most time on are printed for each path.
TOP_STATEMENTS = 6


async def _statements(url: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(query)
    finally:
        await connection.close()


def print_statements(url: str, target: Target, found: dict[str, Any]) -> None:
    """The statements PostgreSQL spent most time on since they were reset, per request of
    `target`'s run that `found` describes."""
    requests = max(found["requests"], 1)
    top = asyncio.run(
        _statements(
            url,
            "SELECT calls, total_exec_time, rows, query FROM pg_stat_statements"
            f" ORDER BY total_exec_time DESC LIMIT {TOP_STATEMENTS}",
        )
    )
    # Time in a statement includes its waits for locks (checkouts of one product queue on
    # its stock row), not only the CPU it cost.
    print(f"  {target.path} {target.route}: PostgreSQL per request", file=sys.stderr)
    for row in top:
        query = " ".join(row["query"].split())[:100]
        print(
            f"    {row['total_exec_time'] * 1000 / requests:8.1f} us"
            f"{row['calls'] / requests:7.2f} calls{row['rows'] / max(row['calls'], 1):8.1f} rows"
            f"  {query}",
            file=sys.stderr,
        )


def measure_all(
    bench: Bench, args: argparse.Namespace, folder: Path, figures: list[Figure]
) -> None:
    """Every path (and every ceiling) at each connection count, then the grown sizes."""
    pairs = bench.targets()
    chosen = [t for t, _ in pairs if args.only in t.path or t.route == "ceiling"]
    for conns in [int(c) for c in args.connections.split(",")]:
        found: list[list[dict[str, Any]]] = [[] for _ in chosen]
        # Rounds of every path in turn, rather than each path's runs one after the other: on
        # a machine whose speed drifts from minute to minute, a path and its ceiling drift
        # alike, and their ratio holds.
        for round_number in range(args.runs):
            for target, runs in zip(chosen, found, strict=True):
                if args.statements and not round_number:
                    asyncio.run(_statements(bench.cluster.url(), RESET_STATEMENTS))
                runs.append(run_wrk(target, conns, args.seconds, folder))
                print(
                    f"  {target.path} {target.route} x{conns}: {runs[-1]['rate']:.0f}/s",
                    file=sys.stderr,
                )
                if args.statements and not round_number:
                    print_statements(bench.cluster.url(), target, runs[-1])
        figures.extend(
            median_figure(target, conns, runs, None)
            for target, runs in zip(chosen, found, strict=True)
        )
    catalog = bench.stack.urls[CATALOG.name][0]
    serving = next(c for c in bench.stack.processes.children if c.name == "catalog-0")
    products = f"{CATALOG.path_prefix}products"
    for size in [int(s) for s in args.sizes.split(",") if s]:
        asyncio.run(
            grow(
                bench.cluster.url(CATALOG.database or ""),
                bench.cluster.url(ORDERS.database or ""),
                size,
            )
        )
        # Keyset pagination: a page deep in the list costs what the first one does.
        halfway = encode_cursor({"after": f"PS-GROW-{size // 2:07d}"})
        grown = [
            Target("product list (20)", "direct", catalog, get(f"{products}?limit=20"), serving),
            Target(
                "product list, halfway",
                "direct",
                catalog,
                get(f"{products}?limit=20&cursor={halfway}"),
                serving,
            ),
            Target("search 'rope'", "direct", catalog, get(f"{products}?q=rope&limit=20"), serving),
            pairs[-1][0],
        ]
        for target in grown:
            figures.append(measure(target, 16, args.seconds, args.runs, folder, size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--sizes", default="", help="catalog sizes to grow to, e.g. 1000,10000")
    parser.add_argument("--only", default="", help="measure only paths containing this")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="print the statements PostgreSQL spent most time on for each path",
    )
    args = parser.parse_args()
    ensure_wrk()
    figures: list[Figure] = []
    ratios: dict[tuple[str, str], tuple[str, str]] = {}
    # What was measured is printed even when a later step fails.
    try:
        with (
            tempfile.TemporaryDirectory(prefix="petshore-http-") as tmp,
            bench_stack(Path(tmp), args.statements, args.seconds) as bench,
        ):
            for target, ceiling in bench.targets():
                if ceiling is not None:
                    ratios[(target.path, target.route)] = (ceiling.path, ceiling.route)
            measure_all(bench, args, Path(tmp), figures)
            if any("checkout" in f.path and f.route != "ceiling" for f in figures):
                figures.append(mail_figure(bench))
    finally:
        print_table(figures, ratios)
        if args.json:
            args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
