"""What one instance serves, and what the Auto Scaling groups do with launch-day traffic.

    .venv/bin/python bench/capacity.py [--requests 3000] [--json out.json]

1. Measure. Starts the storefront as an instance runs it — each service with the production
   worker count of a 2-vCPU instance (PETSHORE_WORKERS=2), on PostgreSQL (a server of its own)
   and the AWS emulator — and sends each service its share of a shopper's requests (catalog:
   product pages, lists, categories; cart: reads and changes; orders: checkouts of one-line
   carts). It measures the CPU seconds each request costs the service's own processes (read
   from /proc, so the load generator and the emulator sharing this machine do not count) and
   the latencies at 16 connections. One 2-vCPU instance then serves 2 / cpu-per-request
   requests per second flat out; the 70% CPU target is reached at 70% of that.
2. Simulate. Reads the Auto Scaling settings from the rendered template itself (min, max,
   warm-up, the CPU and request-count targets, the launch floor), and plays the design's
   traffic against them minute by minute: 200 -> 2,400 concurrent shoppers over 15 minutes,
   and 10,000 arriving at once. A group acts as target tracking does (scale out after three
   one-minute datapoints above target, new instances serve after the warm-up, scale in after
   fifteen below), requests beyond what the instances serve queue, and a request that would
   wait over 30 s is shed (CloudFront gives up at 60 s). It prints instances over time, the
   worst queueing delay, the requests shed, and the day's and the month's cost (EC2, RDS,
   DynamoDB on demand, NAT, ALB, CloudFront transfer with the optimised models' sizes against
   the originals').

Prices are us-east-1 on-demand list prices (PRICES below); a shop elsewhere pays a little more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import cpu_seconds  # noqa: E402
from devstack.emulator import emulator_process  # noqa: E402
from devstack.postgres import PostgresCluster  # noqa: E402
from devstack.processes import free_port  # noqa: E402
from devstack.stack import Stack, StackConfig  # noqa: E402
from petshore.contract import SERVICES, Env  # noqa: E402
from templates.capacity import MEASURED_RPS, WORKER_MIN_INSTANCES  # noqa: E402
from templates.stack import build_template  # noqa: E402

ADMIN = {"Authorization": "Bearer bench"}
WORKERS = 2  # a 2-vCPU instance with PETSHORE_WORKERS=auto
CONNECTIONS = 16

# What one shopper asks of each service per minute while browsing: a page every 10 s (its
# product or list read, and the category bar once in a while), a cart change every minute or
# so, and one checkout in forty minutes (a 2.5% conversion over a 60-minute visit).
# A signed-in shopper's page asks who they are once per view (a third of shoppers sign in),
# and one in a hundred of those requests is a sign-in.
PER_SHOPPER_PER_MINUTE = {"catalog": 7.0, "cart": 1.2, "orders": 0.025, "accounts": 2.0}
SIGN_INS_PER_ACCOUNTS_REQUEST = 0.01
# Catalog reads CloudFront answers from its cache (they are the same for every shopper for
# CATALOG_CACHE_SECONDS): a launch-day crowd reads the same few hundred products. Assumed.
CATALOG_EDGE_HIT_RATIO = 0.8
# Bytes a shopper downloads per minute besides models: the page and its assets are cached by
# the browser after the first view; product photos and API answers.
PAGE_BYTES_PER_MINUTE = 150_000
MODELS_PER_SHOPPER_PER_MINUTE = 0.5  # a model every other minute: most pages have one

# us-east-1 on-demand list prices, USD.
PRICES = {
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "db.m7g.large": 0.168,  # per AZ: Multi-AZ pays twice
    "db.t4g.micro": 0.016,
    "db_storage_gb_month": 0.115,
    "nat_hour": 0.045,
    "nat_gb": 0.045,
    "alb_hour": 0.0225,
    "lcu_hour": 0.008,
    "ipv4_hour": 0.005,
    "dynamodb_write_million": 0.625,
    "dynamodb_read_million": 0.125,
    "cloudfront_gb": 0.085,
    "cloudfront_10k_requests": 0.01,
    "secret_month": 0.40,
    "kms_key_month": 1.0,
    "alarm_month": 0.10,
    "waf_month": 5.0 + 4 * 1.0,
    "waf_million": 0.60,
}
HOURS_PER_MONTH = 730
WORKER_INSTANCE_TYPE = "t3.medium"  # ModelWorkerInstanceType's default


# -- measuring --------------------------------------------------------------------------


@dataclass
class Measured:
    service: str
    requests: int
    cpu_ms_per_request: float
    p50_ms: float
    p99_ms: float

    @property
    def flat_out_rps(self) -> float:
        return WORKERS / (self.cpu_ms_per_request / 1000)


async def _drive(
    base_url: str, count: int, request: Callable[[httpx.AsyncClient, int], Awaitable[None]]
) -> list[float]:
    latencies: list[float] = []
    queue = iter(range(count))

    async def connection(client: httpx.AsyncClient) -> None:
        for n in queue:
            started = time.perf_counter()
            await request(client, n)
            latencies.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await asyncio.gather(*(connection(client) for _ in range(CONNECTIONS)))
    return latencies


async def measure(stack: Stack, requests: int) -> tuple[list[Measured], dict[str, int]]:
    catalog, cart, orders, accounts = (
        stack.urls[s][0] for s in ("catalog", "cart", "orders", "accounts")
    )
    async with httpx.AsyncClient(base_url=catalog, timeout=60) as c:
        products = (await c.get("/api/catalog/products", params={"limit": 100})).json()["items"]
    # What a cart may hold: a product sold in variants is bought as one of them.
    skus = [p["sku"] for p in products if not p["variants"]]
    skus += [v["sku"] for p in products for v in p["variants"]]
    sizes = {
        "optimised": sum(p["model"]["bytes"] for p in products if p["model"]),
        "original": sum(p["model"]["original_bytes"] for p in products if p["model"]),
        "models": sum(1 for p in products if p["model"]),
    }
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as admin:
        for sku in skus:
            await admin.put(
                f"/api/orders/inventory/{sku}", json={"available": 10**6}, headers=ADMIN
            )

    async def browse(client: httpx.AsyncClient, n: int) -> None:
        kind = n % 10
        if kind < 7:
            await client.get(f"/api/catalog/products/{skus[n % len(skus)]}")
        elif kind < 9:
            await client.get("/api/catalog/products", params={"limit": 24})
        else:
            await client.get("/api/catalog/categories")

    carts: list[str] = []

    async def new_carts(client: httpx.AsyncClient, n: int) -> None:
        cart_id = (await client.post("/api/cart/carts")).json()["cart_id"]
        await client.put(
            f"/api/cart/carts/{cart_id}/items/{skus[n % len(skus)]}", json={"quantity": 1}
        )
        carts.append(cart_id)

    async def use_carts(client: httpx.AsyncClient, n: int) -> None:
        cart_id = carts[n % len(carts)]
        if n % 2:
            await client.get(f"/api/cart/carts/{cart_id}")
        else:
            await client.put(
                f"/api/cart/carts/{cart_id}/items/{skus[n % len(skus)]}",
                json={"quantity": 1 + n % 3},
            )

    async def checkout(client: httpx.AsyncClient, n: int) -> None:
        body = {
            "cart_id": carts[n],
            "email": "bench@example.com",
            "shipping_address": {
                "name": "Bench",
                "line1": "1 Load Street",
                "city": "Portland",
                "postal_code": "97201",
                "country": "US",
            },
            "payment": {"token": "tok_visa"},
        }
        answer = await client.post(
            "/api/orders/orders", json=body, headers={"Idempotency-Key": secrets.token_hex(8)}
        )
        assert answer.status_code == 201, answer.text

    password = "bench password one"
    sessions: list[str] = []

    async def sign_ups(client: httpx.AsyncClient, n: int) -> None:
        body = {"email": f"bench{n}@example.com", "password": password, "name": "Bench"}
        answer = await client.post("/api/accounts/customers", json=body)
        sessions.append(answer.cookies["petshore_session"])

    sign_in_every = round(1 / SIGN_INS_PER_ACCOUNTS_REQUEST)

    async def use_sessions(client: httpx.AsyncClient, n: int) -> None:
        if n % sign_in_every == 0:
            body = {"email": f"bench{n % len(sessions)}@example.com", "password": password}
            answer = await client.post("/api/accounts/sessions", json=body)
            assert answer.status_code == 200, answer.text
            return
        cookie = {"Cookie": f"petshore_session={sessions[n % len(sessions)]}"}
        answer = await client.get("/api/accounts/sessions/current", headers=cookie)
        assert answer.status_code == 200, answer.text

    plans: list[tuple[str, str, int, Callable[[httpx.AsyncClient, int], Awaitable[None]]]] = [
        ("catalog", catalog, requests, browse),
        ("cart", cart, requests // 2, use_carts),
        ("orders", orders, requests // 10, checkout),
        ("accounts", accounts, requests // 2, use_sessions),
    ]
    await _drive(cart, requests // 2, new_carts)
    await _drive(accounts, 50, sign_ups)
    # A service's processes on an instance: the server and the workers beside it (the orders
    # service's mail sender, which sends the checkouts' emails as they come).
    pids: dict[str, list[int]] = {}
    for child in stack.processes.children:
        pids.setdefault(child.name.split("-")[0], []).append(child.process.pid)
    results = []
    for name, url, count, request in plans:
        before = cpu_seconds(pids[name])
        latencies = await _drive(url, count, request)
        cpu = cpu_seconds(pids[name]) - before
        quantiles = statistics.quantiles(latencies, n=100)
        results.append(
            Measured(
                name,
                count,
                round(cpu * 1000 / count, 2),
                round(quantiles[49], 1),
                round(quantiles[98], 1),
            )
        )
    return results, sizes


@contextmanager
def instance_like_stack(var: Path) -> Iterator[Stack]:
    cluster = PostgresCluster()
    cluster.create()
    cluster.start()
    try:
        cluster.create_databases(*(s.name for s in SERVICES if s.database))
        # In a process of its own: on a thread here it would share the load generator's core.
        with emulator_process(var / "emulator.log") as aws:
            stack = Stack(
                StackConfig(
                    database_urls={
                        s.name: cluster.url(s.name) + "?maxsize=20" for s in SERVICES if s.database
                    },
                    aws_endpoint_url=aws,
                    admin_token="bench",
                    gateway_port=free_port(),
                    log_dir=var / "log",
                    environment="capacity",
                    service_ports={s.name: [free_port()] for s in SERVICES},
                    extra_env={Env.WORKERS: str(WORKERS), Env.LOG_LEVEL: "WARNING"},
                )
            )
            try:
                stack.start()
                yield stack
            finally:
                stack.stop()
    finally:
        cluster.remove()


# -- simulating -------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSettings:
    service: str
    minimum: int
    maximum: int
    warmup_minutes: int
    cpu_target: float
    requests_target_per_minute: float
    instance_type: str


def settings_from_template(footprint: str) -> list[GroupSettings]:
    """Each group's scaling settings as the rendered stack has them, with the defaults of its
    parameters (the simulation plays what `aws cloudformation deploy` would create)."""
    t = json.loads(build_template().to_json())
    params = {name: p.get("Default") for name, p in t["Parameters"].items()}
    groups = []
    for service in SERVICES:
        title = service.name.capitalize()
        group = t["Resources"][f"{title}AutoScalingGroup"]["Properties"]
        minimum = group["MinSize"]["Fn::If"]
        small, production = minimum[1], params[minimum[2]["Ref"]]
        targets: dict[str, float] = {}
        for resource in t["Resources"].values():
            p = resource.get("Properties", {})
            mine = p.get("AutoScalingGroupName") == {"Ref": f"{title}AutoScalingGroup"}
            if resource["Type"] == "AWS::AutoScaling::ScalingPolicy" and mine:
                config = p["TargetTrackingConfiguration"]
                targets[config["PredefinedMetricSpecification"]["PredefinedMetricType"]] = config[
                    "TargetValue"
                ]
        launch = t["Resources"][f"{title}LaunchTemplate"]["Properties"]["LaunchTemplateData"]
        groups.append(
            GroupSettings(
                service=service.name,
                minimum=int(small if footprint == "small" else production),
                maximum=int(params[group["MaxSize"]["Ref"]]),
                warmup_minutes=math.ceil(group["DefaultInstanceWarmup"] / 60),
                cpu_target=targets["ASGAverageCPUUtilization"],
                requests_target_per_minute=targets["ALBRequestCountPerTarget"],
                instance_type=params[launch["InstanceType"]["Ref"]],
            )
        )
    return groups


@dataclass
class Run:
    instances: list[int]
    worst_wait_s: float
    shed: float
    served: float
    instance_minutes: int


def simulate(
    group: GroupSettings,
    capacity_rps: float,
    shoppers: list[float],
    edge_hit_ratio: float = CATALOG_EDGE_HIT_RATIO,
) -> Run:
    """Minute by minute: `shoppers[m]` concurrent shoppers in minute m."""
    in_service = group.minimum
    booting: list[int] = []  # minutes left before each launched instance serves
    above = below = 0
    backlog = worst = shed = served = 0.0
    history = []
    for count in shoppers:
        booting = [m - 1 for m in booting]
        in_service += sum(1 for m in booting if m <= 0)
        booting = [m for m in booting if m > 0]
        demand = count * PER_SHOPPER_PER_MINUTE[group.service] / 60  # requests per second
        if group.service == "catalog":
            demand *= 1 - edge_hit_ratio
        capacity = in_service * capacity_rps
        work = backlog + demand * 60
        done = min(work, capacity * 60)
        backlog = work - done
        served += done
        # A request that would wait over 30 s is given up on (and CloudFront's 60 s).
        limit = capacity * 30
        if backlog > limit:
            shed += backlog - limit
            backlog = limit
        worst = max(worst, backlog / capacity if capacity else 60.0)
        cpu = 100 * min(1.0, (demand / capacity) if capacity else 1.0)
        wanted = max(
            math.ceil(in_service * cpu / group.cpu_target),
            math.ceil(demand * 60 / group.requests_target_per_minute),
            group.minimum,
        )
        total = in_service + len(booting)
        above = above + 1 if wanted > total else 0
        below = below + 1 if wanted < in_service else 0
        if above >= 3:
            launch = min(wanted, group.maximum) - total
            booting += [group.warmup_minutes] * max(launch, 0)
            above = 0
        if below >= 15:
            in_service = max(wanted, group.minimum)
            below = 0
        history.append(in_service)
    return Run(history, round(worst, 1), round(shed), round(served), sum(history))


def ramp() -> list[float]:
    return [200.0] * 5 + [200 + (2400 - 200) * m / 15 for m in range(15)] + [2400.0] * 40


def spike() -> list[float]:
    return [200.0] * 5 + [10_000.0] * 55


def stress() -> list[float]:
    """Five times the design's spike: the settings must scale, not just hold."""
    return [200.0] * 5 + [50_000.0] * 55


def quiet_day() -> list[float]:
    """A day of an ordinary shop: 20 shoppers at 3 AM, 300 in the evening."""
    return [20 + 280 * max(0.0, math.sin(math.pi * (m / 60 - 6) / 18)) for m in range(24 * 60)]


def costs(
    footprint: str,
    groups: list[GroupSettings],
    runs: dict[str, Run],
    minutes: int,
    shopper_minutes: float,
    model_bytes: float,
) -> dict[str, float]:
    hours = minutes / 60
    production = footprint == "production"
    ec2 = sum(PRICES[g.instance_type] * runs[g.service].instance_minutes / 60 for g in groups)
    # The model worker's group keeps its minimum: uploads are rare and not part of the traffic.
    ec2 += PRICES[WORKER_INSTANCE_TYPE] * WORKER_MIN_INSTANCES * hours
    rds_class = "db.m7g.large" if production else "db.t4g.micro"
    rds = PRICES[rds_class] * (2 if production else 1) * hours
    rds += PRICES["db_storage_gb_month"] * 50 * (2 if production else 1) * hours / HOURS_PER_MONTH
    nats = 2 if production else 1
    nat = (PRICES["nat_hour"] + PRICES["ipv4_hour"]) * nats * hours
    albs = 2 * (PRICES["alb_hour"] + PRICES["lcu_hour"] + 2 * PRICES["ipv4_hour"]) * hours
    cart_requests = shopper_minutes * PER_SHOPPER_PER_MINUTE["cart"]
    # A session check reads its item; a sign-in writes one (sliding writes are hourly).
    session_checks = shopper_minutes * PER_SHOPPER_PER_MINUTE["accounts"]
    dynamodb = (
        cart_requests
        / 2
        / 1e6
        * (PRICES["dynamodb_read_million"] + PRICES["dynamodb_write_million"])
        + session_checks / 1e6 * PRICES["dynamodb_read_million"]
        + session_checks * SIGN_INS_PER_ACCOUNTS_REQUEST / 1e6 * PRICES["dynamodb_write_million"]
    )
    transfer = shopper_minutes * (
        PAGE_BYTES_PER_MINUTE + MODELS_PER_SHOPPER_PER_MINUTE * model_bytes
    )
    requests = shopper_minutes * (sum(PER_SHOPPER_PER_MINUTE.values()) + 3)
    cloudfront = (
        transfer / 1e9 * PRICES["cloudfront_gb"]
        + requests / 1e4 * PRICES["cloudfront_10k_requests"]
    )
    fixed = (
        6 * PRICES["secret_month"]
        + PRICES["kms_key_month"]
        + 30 * PRICES["alarm_month"]
        + PRICES["waf_month"]
    ) * hours / HOURS_PER_MONTH + requests / 1e6 * PRICES["waf_million"]
    parts = {
        "ec2": ec2,
        "rds": rds,
        "nat": nat,
        "alb": albs,
        "dynamodb": dynamodb,
        "cloudfront": cloudfront,
        "other": fixed,
    }
    return {k: round(v, 2) for k, v in parts.items()} | {"total": round(sum(parts.values()), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="petshore-capacity-") as tmp,
        instance_like_stack(Path(tmp)) as stack,
    ):
        measured, sizes = asyncio.run(measure(stack, args.requests))
    print(f"One 2-vCPU instance, {WORKERS} workers, {CONNECTIONS} connections:")
    print(
        f"  (catalog demand below assumes {CATALOG_EDGE_HIT_RATIO:.0%} of its reads answered "
        "by CloudFront's cache)"
    )
    capacity: dict[str, float] = {}
    for m in measured:
        capacity[m.service] = m.flat_out_rps
        print(
            f"  {m.service:8} {m.cpu_ms_per_request:6.2f} ms CPU/request -> {m.flat_out_rps:7.0f} "
            f"req/s flat out, {m.flat_out_rps * 0.7:7.0f} at 70% CPU; latency p50 {m.p50_ms} ms, "
            f"p99 {m.p99_ms} ms (template's figure: {MEASURED_RPS[m.service]} req/s, "
            f"{MEASURED_RPS[m.service] / m.flat_out_rps:.2f} of flat out)"
        )
    report["measured"] = [m.__dict__ | {"flat_out_rps": round(m.flat_out_rps)} for m in measured]
    print(
        f"  demo models: {sizes['models']}, optimised {sizes['optimised'] / 1e6:.1f} MB, "
        f"originals {sizes['original'] / 1e6:.1f} MB"
    )
    per_model = {k: sizes[k] / max(sizes["models"], 1) for k in ("optimised", "original")}
    scenarios = {"ramp 200->2,400 in 15 min": ramp(), "10,000 at once": spike()}
    for footprint in ("production", "small"):
        groups = settings_from_template(footprint)
        report[footprint] = {}
        days = {**scenarios, "50,000 at once, nothing cached at the edge": stress()}
        ordinary = {"an ordinary day": quiet_day(), "a day with no shopper": [0.0] * 24 * 60}
        for label, shoppers in {**days, **ordinary}.items():
            hits = 0.0 if "nothing cached" in label else CATALOG_EDGE_HIT_RATIO
            runs = {g.service: simulate(g, capacity[g.service], shoppers, hits) for g in groups}
            shopper_minutes = sum(shoppers)
            cost = {
                kind: costs(
                    footprint, groups, runs, len(shoppers), shopper_minutes, per_model[kind]
                )
                for kind in ("optimised", "original")
            }
            report[footprint][label] = {
                "instances": {s: r.instances for s, r in runs.items()},
                "worst_wait_s": {s: r.worst_wait_s for s, r in runs.items()},
                "shed": {s: r.shed for s, r in runs.items()},
                "cost": cost,
            }
            print(f"\n{footprint}, {label} ({len(shoppers)} minutes):")
            for group in groups:
                run = runs[group.service]
                sample = run.instances[:: max(1, len(run.instances) // 12)]
                print(
                    f"  {group.service:8} min {group.minimum} max {group.maximum}: instances "
                    f"{sample} (peak {max(run.instances)}), worst wait {run.worst_wait_s} s, "
                    f"shed {run.shed} of {run.served + run.shed:.0f}"
                )
                if max(run.instances) >= group.maximum:
                    print(f"    {group.service} reached its Max: raise it")
            scale = HOURS_PER_MONTH * 60 / len(shoppers)
            for kind in ("optimised", "original"):
                line = ", ".join(f"{k} {v}" for k, v in cost[kind].items())
                print(f"  cost with {kind} models: {line} USD")
                if label in ordinary:
                    print(f"    a month of such days: {cost[kind]['total'] * scale:.0f} USD")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
