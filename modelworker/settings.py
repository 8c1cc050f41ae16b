"""The model worker's settings, all read from the environment here."""

from __future__ import annotations

import os
from dataclasses import dataclass

from modelworker.limits import Limits
from modelworker.pipeline import Pipeline
from petshore.contract import Env, models_bucket_name
from petshore.queues import LONGEST_POLL_SECONDS
from petshore.settings import CommonSettings, env_float, env_int, env_str


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    models_bucket: str
    jobs_queue_url: str | None  # None: the queue named after the environment
    results_queue_url: str | None
    queue_wait_seconds: int
    node: str
    step_timeout: float
    concurrent_jobs: int
    poster_chromium: str
    limits: Limits

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env()
        return cls(
            common=common,
            models_bucket=env_str(Env.MODELS_BUCKET, models_bucket_name(common.environment)),
            jobs_queue_url=os.environ.get(Env.MODEL_JOBS_QUEUE_URL) or None,
            results_queue_url=os.environ.get(Env.MODEL_RESULTS_QUEUE_URL) or None,
            queue_wait_seconds=min(
                env_int(Env.QUEUE_WAIT_SECONDS, LONGEST_POLL_SECONDS), LONGEST_POLL_SECONDS
            ),
            node=env_str(Env.MODEL_PIPELINE_NODE, "node"),
            # Each step (conversion, optimisation, poster) of a job; the steps of one job fit
            # well inside the queue's visibility timeout (MODEL_JOB_VISIBILITY_SECONDS).
            step_timeout=env_float(Env.MODEL_PIPELINE_TIMEOUT_SECONDS, 200.0),
            # Jobs at once: each may hold a 2 GB Node heap (Limits.memory_mb).
            concurrent_jobs=env_int(Env.MODEL_PIPELINE_WORKERS, 1, minimum=1),
            # Debian's Chromium where there is one; set it empty to use Playwright's own.
            poster_chromium=os.environ.get(Env.POSTER_CHROMIUM, "/usr/bin/chromium"),
            limits=Limits(),
        )

    def pipeline(self) -> Pipeline:
        return Pipeline(
            self.node, self.step_timeout, self.concurrent_jobs, self.poster_chromium, self.limits
        )
