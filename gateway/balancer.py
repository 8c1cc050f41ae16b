"""Health checks with the ALB's rules: a target turns healthy after HEALTHY_THRESHOLD passing
checks in a row and unhealthy after UNHEALTHY_THRESHOLD failures. nginx balances over the
healthy targets in turn (`gateway.nginx`); when no target is healthy it is given them all,
failing open as an ALB does."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp

from petshore.contract import (
    HEALTH_TIMEOUT_SECONDS,
    HEALTHY_THRESHOLD,
    UNHEALTHY_THRESHOLD,
    Service,
)

log = logging.getLogger("petshore.gateway.balancer")


@dataclass
class Target:
    url: str
    healthy: bool = False
    passes: int = 0
    failures: int = 0

    def record(self, ok: bool) -> None:
        if ok:
            self.passes, self.failures = self.passes + 1, 0
            if not self.healthy and self.passes >= HEALTHY_THRESHOLD:
                self.healthy = True
                log.info("target healthy", extra={"target": self.url})
        else:
            self.passes, self.failures = 0, self.failures + 1
            if self.healthy and self.failures >= UNHEALTHY_THRESHOLD:
                self.healthy = False
                log.warning("target unhealthy", extra={"target": self.url})


@dataclass
class Pool:
    service: Service
    targets: list[Target]

    @classmethod
    def of(cls, service: Service, urls: list[str]) -> Pool:
        return cls(service, [Target(u) for u in urls])

    def serving(self) -> list[str]:
        """The targets requests go to."""
        return [t.url for t in self.targets if t.healthy] or [t.url for t in self.targets]

    async def check(self, session: aiohttp.ClientSession) -> None:
        timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)

        async def probe(target: Target) -> None:
            try:
                url = target.url + self.service.health_path
                async with session.get(url, timeout=timeout) as response:
                    target.record(response.status == 200)
            except (aiohttp.ClientError, TimeoutError):
                target.record(False)

        await asyncio.gather(*(probe(t) for t in self.targets))
