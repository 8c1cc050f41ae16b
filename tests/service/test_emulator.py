"""The AWS emulator (devstack/emulator) in processes of its own, spoken to over HTTP by the real
SDK: concurrent conditional writes all count, what was written survives a SIGKILL, a clean stop
saves everything, and the snapshot layout before still loads."""

from __future__ import annotations

import itertools
import json
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devstack.emulator.state import DEBOUNCE_SECONDS
from devstack.processes import ROOT, free_port
from tests.helpers import emulator_client

WRITERS = 20
LINES_EACH = 2
# moto's window between checking a condition and writing grows with the item: on a cart this
# big, plain moto_server loses updates on most runs, while 50 writers on a small cart hardly
# ever catch the interpreter switching threads inside the window.
BIG_CART_LINES = 400
BUCKET = "petshore-test-models"
TABLE = "emulator-test-carts"  # not a carts table of any stack sharing the emulator
# A save under way when the process dies, and a busy machine's scheduling, on top of the
# debounce: the most recent changes a kill may lose.
LOSS_WINDOW_SECONDS = DEBOUNCE_SECONDS + 0.5


def client(url: str, service: str) -> Any:
    config = Config(max_pool_connections=WRITERS, retries={"mode": "standard"})
    return emulator_client(url, service, config)


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str

    def kill(self) -> float:
        """SIGKILL; the moment it was sent."""
        killed_at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        return killed_at


@dataclass
class Emulators:
    log_dir: Path
    started: list[Running] = field(default_factory=list)

    def start(self, state_dir: Path | None = None) -> Running:
        port = free_port()
        command = [sys.executable, "-m", "devstack.emulator", "--port", str(port)]
        if state_dir is not None:
            command += ["--state-dir", str(state_dir)]
        log = self.log_dir / f"emulator-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        running = Running(process, f"http://127.0.0.1:{port}")
        self.started.append(running)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(running.url + "/moto-api/", timeout=5)
                return running
            except httpx.HTTPError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[Emulators]:
    started = Emulators(tmp_path)
    yield started
    for running in started.started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def create_table(dynamodb: Any, ttl: bool = False) -> None:
    """With `ttl`, as the sessions table is made: a TTL and an index by owner too."""
    index = {
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_owner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "AttributeDefinitions": [
            {"AttributeName": "cart_id", "AttributeType": "S"},
            {"AttributeName": "owner", "AttributeType": "S"},
        ],
    }
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "cart_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **(
            index
            if ttl
            else {"AttributeDefinitions": [{"AttributeName": "cart_id", "AttributeType": "S"}]}
        ),
    )
    if ttl:
        dynamodb.update_time_to_live(
            TableName=TABLE,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )


def cart_item(cart_id: str, version: int, lines: list[str]) -> dict[str, Any]:
    return {
        "cart_id": {"S": cart_id},
        "version": {"N": str(version)},
        "lines": {"L": [{"M": {"sku": {"S": sku}, "quantity": {"N": "1"}}} for sku in lines]},
    }


def cart_of(item: dict[str, Any]) -> tuple[int, list[str]]:
    return int(item["version"]["N"]), [line["M"]["sku"]["S"] for line in item["lines"]["L"]]


def read_cart(dynamodb: Any, cart_id: str) -> tuple[int, list[str]]:
    key = {"cart_id": {"S": cart_id}}
    return cart_of(dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"])


def write_cart(
    dynamodb: Any, cart_id: str, read_version: int, lines: list[str]
) -> tuple[int, list[str]] | None:
    """The cart service's write, conditional on the version read: None if it was taken, else
    the cart as it is now, from the failed condition's answer."""
    try:
        dynamodb.put_item(
            TableName=TABLE,
            Item=cart_item(cart_id, read_version + 1, lines),
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":v": {"N": str(read_version)}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return cart_of(exc.response["Item"])
    return None


def test_concurrent_conditional_writes_all_count(moto_url: str) -> None:
    """WRITERS threads each add lines to one cart, one at a time: read the cart, write it back
    conditional on the version read, and on a failed condition try again from the cart as it
    now is."""
    dynamodb = client(moto_url, "dynamodb")
    create_table(dynamodb)
    before = [f"OLD-{n}" for n in range(BIG_CART_LINES)]
    dynamodb.put_item(TableName=TABLE, Item=cart_item("race", 1, before))
    added = [f"NEW-{writer}-{n}" for writer in range(WRITERS) for n in range(LINES_EACH)]
    everyone_ready = threading.Barrier(WRITERS)

    def add(writer: int) -> None:
        everyone_ready.wait()
        for line in added[writer * LINES_EACH : (writer + 1) * LINES_EACH]:
            version, lines = read_cart(dynamodb, "race")
            while (now := write_cart(dynamodb, "race", version, [*lines, line])) is not None:
                version, lines = now

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(add, range(WRITERS)))
    version, lines = read_cart(dynamodb, "race")
    assert version == 1 + len(added), "a write whose condition held was lost"
    assert lines[:BIG_CART_LINES] == before
    assert sorted(lines[BIG_CART_LINES:]) == sorted(added)


def test_a_long_poll_holds_up_nothing(moto_url: str) -> None:
    sqs = client(moto_url, "sqs")
    queue = sqs.create_queue(QueueName=f"long-poll-{secrets.token_hex(4)}")["QueueUrl"]
    received: list[dict[str, Any]] = []
    started = time.monotonic()
    poll = threading.Thread(
        target=lambda: received.extend(
            sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])
        )
    )
    poll.start()
    time.sleep(0.5)
    client(moto_url, "dynamodb").list_tables()
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    poll.join(timeout=15)
    assert [m["Body"] for m in received] == ["hello"]
    assert time.monotonic() - started < 5


MODEL = bytes(range(256)) * 12_000  # 3 MB: past the request buffer's memory, in several chunks


def write_everything(url: str) -> None:
    s3, dynamodb = client(url, "s3"), client(url, "dynamodb")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET,
        Key="models/fox model+1.glb",
        Body=MODEL,
        ContentType="model/gltf-binary",
        CacheControl="public, max-age=31536000, immutable",
        Metadata={"source": "test"},
        Tagging="petshore-lifecycle=discontinued",
    )
    create_table(dynamodb, ttl=True)
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "cart_id": {"S": "kept"},
            "version": {"N": "3"},
            "lines": {"L": [{"S": "PS-TOY-0002"}]},
            "expires_at": {"N": "1999999999"},
            "token": {"B": b"\x00\xffbinary"},
            "owner": {"S": "customer-1"},
        },
    )


def assert_everything_there(url: str) -> None:
    s3, dynamodb = client(url, "s3"), client(url, "dynamodb")
    got = s3.get_object(Bucket=BUCKET, Key="models/fox model+1.glb")
    assert got["Body"].read() == MODEL
    assert got["ContentType"] == "model/gltf-binary"
    assert got["CacheControl"] == "public, max-age=31536000, immutable"
    assert got["Metadata"] == {"source": "test"}
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="models/fox model+1.glb")["TagSet"]
    assert tags == [{"Key": "petshore-lifecycle", "Value": "discontinued"}]
    item = dynamodb.get_item(TableName=TABLE, Key={"cart_id": {"S": "kept"}})["Item"]
    assert item["lines"] == {"L": [{"S": "PS-TOY-0002"}]}
    assert item["token"] == {"B": b"\x00\xffbinary"}
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    owned = dynamodb.query(
        TableName=TABLE,
        IndexName="by_owner",
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "customer-1"}},
    )["Items"]
    assert [i["cart_id"]["S"] for i in owned] == ["kept"]


def test_what_was_written_survives_a_kill(emulators: Emulators, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = emulators.start(state)
    write_everything(first.url)
    time.sleep(1)
    first.kill()
    assert_everything_there(emulators.start(state).url)


def test_a_clean_stop_saves_what_is_pending(emulators: Emulators, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = emulators.start(state)
    write_everything(first.url)
    first.process.terminate()
    assert first.process.wait(timeout=30) == 0
    second = emulators.start(state)
    assert_everything_there(second.url)
    s3 = client(second.url, "s3")
    s3.delete_object(Bucket=BUCKET, Key="models/fox model+1.glb")
    client(second.url, "dynamodb").delete_table(TableName=TABLE)
    second.process.terminate()
    assert second.process.wait(timeout=30) == 0
    third = emulators.start(state)
    assert client(third.url, "s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    assert client(third.url, "dynamodb").list_tables()["TableNames"] == []


@dataclass
class Acknowledged:
    """What the emulator acknowledged writing, and when: (monotonic time, value)."""

    versions: list[tuple[float, int]]
    generations: dict[str, list[tuple[float, int]]]

    def settled_before(self, moment: float) -> tuple[int, dict[str, int]]:
        """The last cart version and object generations acknowledged before `moment`."""
        version = max(v for t, v in self.versions if t < moment)
        generations = {
            key: max((n for t, n in acked if t < moment), default=0)
            for key, acked in self.generations.items()
        }
        return version, generations


def object_body(key: str, generation: int) -> bytes:
    return f"{key}:{generation};".encode() * 20_000


def until_killed(write: Callable[[], None], killing: threading.Event) -> None:
    """`write` again and again, as fast as the emulator takes it, until it is killed."""
    try:
        while True:
            write()
    except (BotoCoreError, ClientError):
        if not killing.is_set():
            raise


def cart_writer(url: str, acknowledged: Acknowledged) -> Callable[[], None]:
    dynamodb = client(url, "dynamodb")

    def write() -> None:
        version, _ = read_cart(dynamodb, "busy")
        if write_cart(dynamodb, "busy", version, [f"line-{version + 1}"]) is None:
            acknowledged.versions.append((time.monotonic(), version + 1))

    return write


def object_writer(url: str, acknowledged: Acknowledged, generation: int) -> Callable[[], None]:
    s3 = client(url, "s3")
    generations = itertools.count(generation + 1)

    def write() -> None:
        generation = next(generations)
        key = f"models/{generation % 4}.glb"
        s3.put_object(
            Bucket=BUCKET,
            Key=key,
            Body=object_body(key, generation),
            Metadata={"generation": str(generation)},
        )
        acknowledged.generations.setdefault(key, []).append((time.monotonic(), generation))

    return write


def test_a_kill_during_heavy_writes_loses_only_the_last_moments(
    emulators: Emulators, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    running = emulators.start(state)
    create_table(client(running.url, "dynamodb"))
    client(running.url, "dynamodb").put_item(TableName=TABLE, Item=cart_item("busy", 1, ["line-1"]))
    client(running.url, "s3").create_bucket(Bucket=BUCKET)
    restored: tuple[int, dict[str, int]] = (1, {})
    for round_ in range(3):
        # What was restored is settled; the writes go on from there.
        acknowledged = Acknowledged(
            versions=[(0.0, restored[0])],
            generations={key: [(0.0, n)] for key, n in restored[1].items()},
        )
        killing = threading.Event()
        writes = [
            cart_writer(running.url, acknowledged),
            object_writer(running.url, acknowledged, round_ * 1_000_000),
        ]
        with ThreadPoolExecutor(len(writes)) as pool:
            writers = [pool.submit(until_killed, write, killing) for write in writes]
            time.sleep(1.5 + random.uniform(0, 0.5))
            killing.set()
            killed_at = running.kill()
            for writer in writers:
                writer.result(timeout=60)
        running = emulators.start(state)

        settled_version, settled_generations = acknowledged.settled_before(
            killed_at - LOSS_WINDOW_SECONDS
        )
        version, lines = read_cart(client(running.url, "dynamodb"), "busy")
        # At least what settled; at most what was acknowledged and one write in flight.
        assert settled_version <= version <= acknowledged.versions[-1][1] + 1
        assert lines == [f"line-{version}"], "a torn item"
        s3 = client(running.url, "s3")
        generations: dict[str, int] = {}
        for key, settled in settled_generations.items():
            got = s3.get_object(Bucket=BUCKET, Key=key)
            generations[key] = int(got["Metadata"]["generation"])
            assert generations[key] >= settled, f"{key} lost generation {settled}"
            assert got["Body"].read() == object_body(key, generations[key]), "a torn object"
        restored = (version, generations)


def write_legacy_snapshot(snapshot: Path) -> None:
    """The layout the emulator wrote every 30 s until it saved each change."""
    model = snapshot / "s3" / BUCKET / "models" / "fox model+1.glb"
    model.parent.mkdir(parents=True)
    model.write_bytes(MODEL)
    meta = {
        "ContentType": "model/gltf-binary",
        "CacheControl": "public, max-age=31536000, immutable",
        "TagSet": [{"Key": "petshore-lifecycle", "Value": "discontinued"}],
    }
    model.with_name(model.name + ".meta.json").write_text(json.dumps(meta))
    table = {
        "KeySchema": [{"AttributeName": "cart_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "cart_id", "AttributeType": "S"}],
        "TimeToLiveAttribute": "expires_at",
        "Items": [
            {
                "cart_id": {"S": "kept"},
                "version": {"N": "3"},
                "lines": {"L": [{"S": "PS-TOY-0002"}]},
                "expires_at": {"N": "1999999999"},
            }
        ],
    }
    (snapshot / "dynamodb").mkdir()
    (snapshot / "dynamodb" / f"{TABLE}.json").write_text(json.dumps(table))


# The snapshot in place, or beside it: killed between deleting the old and renaming the new.
@pytest.mark.parametrize("where", ["state", "state.tmp"])
def test_the_snapshot_layout_before_still_loads(
    emulators: Emulators, tmp_path: Path, where: str
) -> None:
    state = tmp_path / "state"
    write_legacy_snapshot(tmp_path / where)
    first = emulators.start(state)
    assert_legacy_there(first.url)
    first.kill()
    assert not (state / "s3").exists() and not (tmp_path / "state.tmp").exists()
    assert_legacy_there(emulators.start(state).url)


def assert_legacy_there(url: str) -> None:
    s3, dynamodb = client(url, "s3"), client(url, "dynamodb")
    got = s3.get_object(Bucket=BUCKET, Key="models/fox model+1.glb")
    assert got["Body"].read() == MODEL
    assert got["ContentType"] == "model/gltf-binary"
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="models/fox model+1.glb")["TagSet"]
    assert tags == [{"Key": "petshore-lifecycle", "Value": "discontinued"}]
    item = dynamodb.get_item(TableName=TABLE, Key={"cart_id": {"S": "kept"}})["Item"]
    assert item["version"] == {"N": "3"}
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
