"""The gateway's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from petshore.contract import HEALTH_INTERVAL_SECONDS, SERVICES, Env, models_bucket_name
from petshore.settings import CommonSettings, SettingsError, env_float, env_str

_HOST_PORT = re.compile(r"^http://[A-Za-z0-9.-]+:[0-9]{1,5}$")
DEFAULT_STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "dist"


def parse_upstreams(raw: str) -> dict[str, list[str]]:
    """`catalog=http://a:1,http://b:2;cart=http://c:3` → {service: [base URLs]}.
    Services not named keep their default single local instance."""
    names = {s.name for s in SERVICES}
    upstreams = {s.name: [f"http://127.0.0.1:{s.port}"] for s in SERVICES}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        name, sep, urls = part.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise SettingsError(
                f"{Env.GATEWAY_UPSTREAMS}: expected <service>=<url>[,<url>] with a service of "
                f"{sorted(names)}, got {part!r}"
            )
        targets = [u.strip().rstrip("/") for u in urls.split(",") if u.strip()]
        # Plain HTTP to the services, as the ALB speaks to its targets.
        if not targets or not all(_HOST_PORT.match(t) for t in targets):
            raise SettingsError(f"{Env.GATEWAY_UPSTREAMS}: {name} needs http://<host>:<port> URLs")
        upstreams[name] = targets
    return upstreams


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    upstreams: dict[str, list[str]]
    models_bucket: str
    static_dir: Path
    health_interval: float
    upstream_timeout: float

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env()
        return cls(
            common=common,
            upstreams=parse_upstreams(os.environ.get(Env.GATEWAY_UPSTREAMS, "")),
            models_bucket=env_str(Env.MODELS_BUCKET, models_bucket_name(common.environment)),
            static_dir=Path(env_str(Env.STATIC_DIR, str(DEFAULT_STATIC_DIR))),
            health_interval=env_float(Env.GATEWAY_HEALTH_INTERVAL, float(HEALTH_INTERVAL_SECONDS)),
            # CloudFront waits at most 60 s for an origin's response.
            upstream_timeout=env_float(Env.UPSTREAM_TIMEOUT_SECONDS, 60.0),
        )
