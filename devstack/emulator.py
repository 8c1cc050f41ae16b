"""The embedded AWS emulator of `make run`: moto's server on a thread, spoken to over HTTP.
moto keeps its state in memory, so the launcher snapshots buckets and tables to disk (through
the ordinary S3 and DynamoDB APIs) and loads them back on the next start."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from devstack.processes import free_port

SNAPSHOT_EVERY_SECONDS = 30


class Emulator:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        self.restore()
        threading.Thread(target=self._snapshot_loop, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self.snapshot()
        self._server.stop()

    def _snapshot_loop(self) -> None:
        while not self._stopped.wait(SNAPSHOT_EVERY_SECONDS):
            self.snapshot()

    def snapshot(self) -> None:
        with self._lock:
            tmp = self.state_dir.with_name(self.state_dir.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            s3, dynamodb = self._client("s3"), self._client("dynamodb")
            for bucket in s3.list_buckets().get("Buckets", []):
                name = bucket["Name"]
                pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name)
                for obj in (o for page in pages for o in page.get("Contents", [])):
                    got = s3.get_object(Bucket=name, Key=obj["Key"])
                    tags = s3.get_object_tagging(Bucket=name, Key=obj["Key"])["TagSet"]
                    target = tmp / "s3" / name / obj["Key"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(got["Body"].read())
                    meta = {
                        "ContentType": got.get("ContentType"),
                        "CacheControl": got.get("CacheControl"),
                        "TagSet": tags,
                    }
                    target.with_name(target.name + ".meta.json").write_text(json.dumps(meta))
                (tmp / "s3" / name).mkdir(parents=True, exist_ok=True)
            for table in dynamodb.list_tables()["TableNames"]:
                described = dynamodb.describe_table(TableName=table)["Table"]
                items = [
                    item
                    for page in dynamodb.get_paginator("scan").paginate(TableName=table)
                    for item in page["Items"]
                ]
                ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
                target = tmp / "dynamodb" / f"{table}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(
                    json.dumps(
                        {
                            "KeySchema": described["KeySchema"],
                            "AttributeDefinitions": described["AttributeDefinitions"],
                            "TimeToLiveAttribute": ttl.get("AttributeName"),
                            "Items": items,
                        }
                    )
                )
            tmp.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.state_dir, ignore_errors=True)
            tmp.rename(self.state_dir)

    def restore(self) -> None:
        s3, dynamodb = self._client("s3"), self._client("dynamodb")
        for bucket_dir in sorted((self.state_dir / "s3").glob("*")):
            s3.create_bucket(Bucket=bucket_dir.name)
            for path in sorted(bucket_dir.rglob("*")):
                if not path.is_file() or path.name.endswith(".meta.json"):
                    continue
                meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
                key = path.relative_to(bucket_dir).as_posix()
                extra = {k: meta[k] for k in ("ContentType", "CacheControl") if meta.get(k)}
                s3.put_object(Bucket=bucket_dir.name, Key=key, Body=path.read_bytes(), **extra)
                if meta.get("TagSet"):
                    s3.put_object_tagging(
                        Bucket=bucket_dir.name, Key=key, Tagging={"TagSet": meta["TagSet"]}
                    )
        for table_file in sorted((self.state_dir / "dynamodb").glob("*.json")):
            saved = json.loads(table_file.read_text())
            table = table_file.stem
            dynamodb.create_table(
                TableName=table,
                KeySchema=saved["KeySchema"],
                AttributeDefinitions=saved["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
            if saved.get("TimeToLiveAttribute"):
                dynamodb.update_time_to_live(
                    TableName=table,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": saved["TimeToLiveAttribute"],
                    },
                )
            for item in saved["Items"]:
                dynamodb.put_item(TableName=table, Item=item)
