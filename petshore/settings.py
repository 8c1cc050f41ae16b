"""Reading settings from the environment: the helpers every service's settings module uses."""

from __future__ import annotations

import os
from dataclasses import dataclass

from petshore.contract import Env


class SettingsError(ValueError):
    """A variable is set to something the service cannot use; raised before it starts."""


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


# Which requests a service writes an access line for (petshore.web.access_level).
ACCESS_LOG_CHOICES = ("failures", "all")


@dataclass(frozen=True)
class CommonSettings:
    """What every service reads: its identity, logging and the admin token."""

    environment: str
    admin_token: str
    log_level: str
    # Every request is logged by the front door already (the gateway's nginx locally, the
    # ALB's access logs in AWS), so by default a service writes a line only for a request
    # that failed or was slow; `all` for one for every request.
    access_log: str
    aws_region: str
    aws_endpoint_url: str | None
    # The longest an AWS call may take, retries included: under the 5 s that a peer waits for
    # a service, so a hung DynamoDB or S3 answers 503 before the caller gives up.
    aws_timeout: float
    # How long a client may go silent while sending a request's head or body before it is
    # answered 408. Bodies are small JSON documents, so a client that stops for this long has
    # gone; waiting longer only holds a connection (Sanic's own limit is 60 s, then a 503).
    request_timeout: float
    # The proxies in front that each add the address they were called from to
    # X-Forwarded-For: the gateway locally; CloudFront and the ALB on AWS. The caller's own
    # address is that many entries from the end (what it wrote itself is further left).
    proxies_count: int

    @classmethod
    def from_env(cls) -> CommonSettings:
        return cls(
            environment=env_str(Env.ENVIRONMENT, "local"),
            admin_token=env_str(Env.ADMIN_TOKEN, ""),
            log_level=env_str(Env.LOG_LEVEL, "INFO"),
            access_log=env_choice(Env.ACCESS_LOG, "failures", ACCESS_LOG_CHOICES),
            aws_region=env_str(Env.AWS_REGION, "us-east-1"),
            aws_endpoint_url=os.environ.get(Env.AWS_ENDPOINT_URL) or None,
            aws_timeout=env_float(Env.AWS_TIMEOUT_SECONDS, 4.0),
            request_timeout=env_float(Env.REQUEST_TIMEOUT_SECONDS, 10.0),
            proxies_count=env_int(Env.PROXIES_COUNT, 1),
        )
