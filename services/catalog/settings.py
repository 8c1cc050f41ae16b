"""The catalog's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from petshore.contract import ACCOUNTS, Env, models_bucket_name
from petshore.queues import LONGEST_POLL_SECONDS
from petshore.settings import CommonSettings, env_float, env_int, env_str
from services.catalog.rules import MIN_PART_BYTES

DEFAULT_DATABASE_URL = "sqlite://var/catalog.sqlite3"
DEFAULT_MODEL_UPLOAD_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MODEL_UPLOAD_PART_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    database_url: str
    models_bucket: str
    model_upload_max_bytes: int
    model_upload_part_bytes: int
    jobs_queue_url: str | None  # None: the queue named after the environment
    results_queue_url: str | None
    queue_wait_seconds: int
    model_wait_seconds: float
    # Who a staff member's session belongs to, for admin calls made with one.
    accounts_url: str
    upstream_timeout: float

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env()
        return cls(
            common=common,
            database_url=env_str(Env.CATALOG_DATABASE_URL, DEFAULT_DATABASE_URL),
            models_bucket=env_str(Env.MODELS_BUCKET, models_bucket_name(common.environment)),
            model_upload_max_bytes=env_int(
                Env.MODEL_UPLOAD_MAX_BYTES, DEFAULT_MODEL_UPLOAD_MAX_BYTES, minimum=1
            ),
            # Files larger than one part are offered a multipart upload too.
            model_upload_part_bytes=env_int(
                Env.MODEL_UPLOAD_PART_BYTES, DEFAULT_MODEL_UPLOAD_PART_BYTES, minimum=MIN_PART_BYTES
            ),
            jobs_queue_url=os.environ.get(Env.MODEL_JOBS_QUEUE_URL) or None,
            results_queue_url=os.environ.get(Env.MODEL_RESULTS_QUEUE_URL) or None,
            queue_wait_seconds=min(
                env_int(Env.QUEUE_WAIT_SECONDS, LONGEST_POLL_SECONDS), LONGEST_POLL_SECONDS
            ),
            # How long `complete` waits for the model worker: inside CloudFront's 60 s origin
            # read timeout and Sanic's 60 s response timeout.
            model_wait_seconds=min(env_float(Env.MODEL_WAIT_SECONDS, 50.0), 55.0),
            accounts_url=env_str(Env.ACCOUNTS_URL, f"http://127.0.0.1:{ACCOUNTS.port}"),
            upstream_timeout=env_float(Env.UPSTREAM_TIMEOUT_SECONDS, 5.0),
        )
