"""The catalog's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from petshore.contract import Env, models_bucket_name
from petshore.settings import CommonSettings, env_float, env_int, env_str
from services.catalog.pipeline import Pipeline
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
    pipeline_node: str
    pipeline_timeout: float
    pipeline_workers: int
    poster_chromium: str

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
            pipeline_node=env_str(Env.MODEL_PIPELINE_NODE, "node"),
            # `complete` answers within CloudFront's 60 s origin read timeout.
            pipeline_timeout=env_float(Env.MODEL_PIPELINE_TIMEOUT_SECONDS, 50.0),
            pipeline_workers=env_int(Env.MODEL_PIPELINE_WORKERS, 1, minimum=1),
            # Debian's Chromium where there is one; set it empty to use Playwright's own.
            poster_chromium=os.environ.get(Env.POSTER_CHROMIUM, "/usr/bin/chromium"),
        )


def make_pipeline(settings: Settings, workers: int | None = None) -> Pipeline:
    return Pipeline(
        settings.pipeline_node,
        settings.pipeline_timeout,
        workers or settings.pipeline_workers,
        settings.poster_chromium,
    )
