"""The emulator's state directory: each S3 object and each DynamoDB table in files of its own,
read back through the ordinary APIs and replaced atomically, so the directory always holds a
complete copy to start from.

    layout-2                            written once the directory is in this layout
    buckets/<bucket>/                   one directory per bucket
        <sha256 of key>.json            the object's record: key, headers, tags, body file
        <sha256 of key>.<token>         its body, written once under a name of its own
    tables/<region>/<table>.json        key schema, time-to-live attribute and items

A file is replaced by writing a temporary file beside it, fsyncing it and renaming it over the
old one. An object's new body is on disk before its record names it, and the old body goes
after: a crash leaves the old record and body or the new ones, and perhaps a body no record
names, which the next start removes.

The layout before (s3/<bucket>/<key> beside <key>.meta.json, dynamodb/<table>.json, all of it
replaced every 30 s) is read once and rewritten in this one."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devstack.emulator.changes import DEFAULT_REGION, Change, S3Bucket, S3Object, Table, Tables

DEBOUNCE_SECONDS = 0.2

_MARKER = "layout-2"
_LEGACY_DIRS = ("dynamodb", "s3")
_CHUNK = 1024 * 1024
# What get_object returns under the name put_object takes it by.
_OBJECT_HEADERS = (
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Metadata",
    "StorageClass",
)
_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "ResourceNotFoundException"}

log = logging.getLogger(__name__)


class StateDir:
    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self._url = url
        self._session = boto3.session.Session()
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        if (service, region) not in self._clients:
            self._clients[service, region] = self._session.client(
                service,
                endpoint_url=self._url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service, region]

    # Saving: called on the flusher's thread only, so one save never overtakes another.

    def save(self, change: Change) -> None:
        match change:
            case S3Object(bucket, key):
                self._save_object(bucket, key)
            case S3Bucket(bucket):
                self._save_bucket(bucket)
            case Table(region, name):
                self._save_table(region, name)
            case Tables(region):
                self._save_tables(region)

    def _save_object(self, bucket: str, key: str) -> None:
        s3 = self._client("s3")
        directory = self.root / "buckets" / bucket
        record = directory / f"{hashlib.sha256(key.encode()).hexdigest()}.json"
        try:
            got = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _MISSING:
                raise
            record.unlink(missing_ok=True)
            _remove_bodies(record, keep=None)
            return
        directory.mkdir(parents=True, exist_ok=True)
        body = directory / f"{record.stem}.{secrets.token_hex(8)}"
        with closing(got["Body"]) as stream, body.open("xb") as out:
            for chunk in stream.iter_chunks(_CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        # Read after the body: a retag in between marks the object again, so it is saved again.
        tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        headers = {name: got[name] for name in _OBJECT_HEADERS if got.get(name)}
        document = {"Key": key, "Body": body.name, "Headers": headers, "TagSet": tags}
        _replace(record, json.dumps(document).encode())
        _remove_bodies(record, keep=body.name)

    def _save_bucket(self, bucket: str) -> None:
        directory = self.root / "buckets" / bucket
        try:
            self._client("s3").head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _MISSING:
                raise
            _discard(directory)
            return
        directory.mkdir(parents=True, exist_ok=True)

    def _save_table(self, region: str, name: str) -> None:
        dynamodb = self._client("dynamodb", region)
        path = self.root / "tables" / region / f"{name}.json"
        try:
            described = dynamodb.describe_table(TableName=name)["Table"]
            ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            pages = dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
            items = [_binary(item, _encode) for page in pages for item in page["Items"]]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _MISSING:
                raise
            path.unlink(missing_ok=True)
            return
        document = {
            "KeySchema": described["KeySchema"],
            "AttributeDefinitions": described["AttributeDefinitions"],
            "TimeToLiveAttribute": ttl.get("AttributeName"),
            "GlobalSecondaryIndexes": [
                {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
                for index in described.get("GlobalSecondaryIndexes", [])
            ],
            "Items": items,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(path, json.dumps(document).encode())

    def _save_tables(self, region: str) -> None:
        pages = self._client("dynamodb", region).get_paginator("list_tables").paginate()
        names = {name for page in pages for name in page["TableNames"]}
        for name in names:
            self._save_table(region, name)
        for path in (self.root / "tables" / region).glob("*.json"):
            if path.stem not in names:
                path.unlink()

    # Restoring: called before the emulator serves anyone but itself.

    @property
    def migrated(self) -> bool:
        return (self.root / _MARKER).exists()

    def restore(self) -> None:
        """Load the directory in this layout, removing what a crash left half-done."""
        _rescue_legacy_snapshot(self.root)
        for leftover in self.root.glob(".*"):
            _discard(leftover)
        if not self.migrated:
            # Only a migration a crash interrupted leaves this layout without its marker.
            for name in ("buckets", "tables"):
                _discard(self.root / name)
            return
        for name in _LEGACY_DIRS:
            _discard(self.root / name)
        for bucket in sorted((self.root / "buckets").glob("*")):
            self._restore_bucket(bucket)
        for region in sorted((self.root / "tables").glob("*")):
            for path in sorted(region.iterdir()):
                if path.suffix == ".json":
                    self._restore_table(region.name, path)
                else:
                    path.unlink()  # a temporary file a crash left behind

    def _restore_bucket(self, directory: Path) -> None:
        s3 = self._client("s3")
        if directory.name.startswith("."):
            _discard(directory)
            return
        s3.create_bucket(Bucket=directory.name)
        bodies = set()
        for record in sorted(directory.glob("*.json")):
            saved = json.loads(record.read_bytes())
            bodies.add(saved["Body"])
            with (directory / saved["Body"]).open("rb") as body:
                s3.put_object(
                    Bucket=directory.name, Key=saved["Key"], Body=body, **saved["Headers"]
                )
            if saved["TagSet"]:
                s3.put_object_tagging(
                    Bucket=directory.name, Key=saved["Key"], Tagging={"TagSet": saved["TagSet"]}
                )
        for path in directory.iterdir():
            if path.suffix != ".json" and path.name not in bodies:
                path.unlink()

    def _restore_table(self, region: str, path: Path) -> None:
        saved = json.loads(path.read_bytes())
        dynamodb = self._client("dynamodb", region)
        indexes = saved.get("GlobalSecondaryIndexes") or []
        dynamodb.create_table(
            TableName=path.stem,
            KeySchema=saved["KeySchema"],
            AttributeDefinitions=saved["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
        )
        if saved["TimeToLiveAttribute"]:
            dynamodb.update_time_to_live(
                TableName=path.stem,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": saved["TimeToLiveAttribute"],
                },
            )
        puts = [{"PutRequest": {"Item": _binary(item, _decode)}} for item in saved["Items"]]
        for start in range(0, len(puts), 25):  # BatchWriteItem's limit
            pending: dict[str, Any] = {path.stem: puts[start : start + 25]}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending)["UnprocessedItems"]

    def restore_legacy(self) -> None:
        """Load the layout before, if it is there; every write marks what it changed, so saving
        those marks rewrites it in this layout, after which `finish_migration`."""
        s3 = self._client("s3")
        for bucket in sorted((self.root / "s3").glob("*")):
            s3.create_bucket(Bucket=bucket.name)
            for path in sorted(bucket.rglob("*")):
                if not path.is_file() or path.name.endswith(".meta.json"):
                    continue
                meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
                key = path.relative_to(bucket).as_posix()
                headers = {k: meta[k] for k in ("ContentType", "CacheControl") if meta.get(k)}
                with path.open("rb") as body:
                    s3.put_object(Bucket=bucket.name, Key=key, Body=body, **headers)
                if meta.get("TagSet"):
                    s3.put_object_tagging(
                        Bucket=bucket.name, Key=key, Tagging={"TagSet": meta["TagSet"]}
                    )
        for table in sorted((self.root / "dynamodb").glob("*.json")):
            self._restore_table(DEFAULT_REGION, table)

    def finish_migration(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _replace(self.root / _MARKER, b"")
        for name in _LEGACY_DIRS:
            _discard(self.root / name)


class Persistence:
    """A state directory kept up to date: loaded on `start`, each change saved soon after."""

    def __init__(self, root: Path, url: str) -> None:
        self._state = StateDir(root, url)
        self._flusher = Flusher(self._state.save)

    def mark(self, changes: Iterable[Change]) -> None:
        self._flusher.mark(changes)

    def start(self) -> None:
        self._state.restore()
        # Restoring went through the server, which marked everything it wrote; it is on disk.
        self._flusher.take()
        if not self._state.migrated:
            self._state.restore_legacy()
            for change in self._flusher.take():
                self._state.save(change)
            self._state.finish_migration()
        self._flusher.start()

    def stop(self) -> None:
        self._flusher.stop()


class Flusher:
    """Saves what changed on a thread of its own, DEBOUNCE_SECONDS after the first change of a
    batch (or as soon as the saves before it are done, if they took longer): a burst of writes
    to a table costs one rewrite, and a crash loses at most the changes of that last fraction
    of a second, and of the saves under way."""

    def __init__(self, save: Callable[[Change], None]) -> None:
        self._save = save
        self._pending: set[Change] = set()
        self._first_pending_at = 0.0
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="emulator-flusher", daemon=True)

    def mark(self, changes: Iterable[Change]) -> None:
        with self._changed:
            if not self._pending:
                self._first_pending_at = time.monotonic()
            self._pending.update(changes)
            self._changed.notify()

    def take(self) -> set[Change]:
        with self._changed:
            taken, self._pending = self._pending, set()
        return taken

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Save everything still pending, then stop."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._stopping)
                due = self._first_pending_at + DEBOUNCE_SECONDS - time.monotonic()
                self._changed.wait_for(lambda: self._stopping, timeout=max(0.0, due))
                stopping = self._stopping
            for change in self.take():
                try:
                    self._save(change)
                except Exception:
                    # Its last saved copy stays; it is saved again when it next changes.
                    log.exception("could not save %s", change)
            if stopping:
                return


def _replace(path: Path, content: bytes) -> None:
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=".", suffix=".tmp", delete=False
    ) as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(out.name, path)
    # The rename itself is durable only once its directory is.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_bodies(record: Path, keep: str | None) -> None:
    for body in record.parent.glob(f"{record.stem}.*"):
        if body.name not in (record.name, keep):
            body.unlink(missing_ok=True)


def _discard(path: Path) -> None:
    """Remove a file or a tree; a tree is first renamed to a dot-name, so a crash midway
    leaves nothing a restore would read but a leftover the next start removes."""
    if path.is_dir():
        trash = path.with_name(f".trash-{secrets.token_hex(8)}")
        path.rename(trash)
        shutil.rmtree(trash)
    else:
        path.unlink(missing_ok=True)


def _rescue_legacy_snapshot(root: Path) -> None:
    """The layout before wrote a snapshot beside the directory, deleted the directory, then
    renamed the snapshot: killed in between, the directory is gone and the snapshot complete.
    With the directory there, the snapshot is a half-written one."""
    snapshot = root.with_name(root.name + ".tmp")
    if snapshot.is_dir():
        if root.exists():
            shutil.rmtree(snapshot)
        else:
            snapshot.rename(root)


def _encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode(value: str) -> bytes:
    return base64.b64decode(value)


def _binary(item: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """An item with its binary values passed through `convert`: the SDK has them as bytes,
    JSON as base64."""

    def value(typed: dict[str, Any]) -> dict[str, Any]:
        (kind, inner), *_ = typed.items()
        if kind == "B":
            return {"B": convert(inner)}
        if kind == "BS":
            return {"BS": [convert(b) for b in inner]}
        if kind == "M":
            return {"M": _binary(inner, convert)}
        if kind == "L":
            return {"L": [value(v) for v in inner]}
        return typed

    return {name: value(typed) for name, typed in item.items()}
