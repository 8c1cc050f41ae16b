"""What one instance of each service serves, and the scaling settings that follow from it.

The figures come from `bench/capacity.py` (docs/architecture.md has its last output): it
measures each service on 2 vCPUs with the production worker count, then simulates the Auto
Scaling groups with these settings against the launch-day traffic. Re-run it after changing
a hot path or an instance type, and update the figures here with what it prints.
"""

from __future__ import annotations

# Requests per second one 2-vCPU instance (2 workers) serves flat out: 2 CPU-seconds over the
# CPU each request costs the service, measured by bench/capacity.py on 2026-11-28 over three
# runs on a shared machine (catalog 0.44-0.59 ms, cart 1.23-2.09 ms, orders 3.70-4.30 ms a
# checkout with its confirmation email, accounts 2.89-3.67 ms: session checks with one
# sign-in, an argon2id hash, in a hundred), from the slowest run, rounded down.
MEASURED_RPS = {"catalog": 3300, "cart": 950, "orders": 460, "accounts": 540}
# Request-count scaling aims at this share of that capacity: room for the 3-4 minutes an
# instance takes to boot and warm up while traffic keeps climbing.
REQUEST_TARGET_SHARE = 0.5
# In the simulation 10,000 shoppers arriving at once never need more than the two instances
# each group starts with; 50,000 with nothing cached at the edge need 4 catalog, 3 cart and 7
# accounts instances (every signed-in page view asks accounts who it is). The maximums leave
# room above that.
MAX_INSTANCES = {"catalog": 8, "cart": 6, "orders": 6, "accounts": 8}
# From launch to serving: boot, install from the artifact, migrate, health checks (measured
# by bench/artifact.py and the ALB's thresholds); also the grace before ELB health counts.
INSTANCE_WARMUP_SECONDS = 180
# The model worker scales on its queue, not on requests: one instance runs one job at a time
# (a 2 GB Node.js heap and Chromium fill a t3.medium's 4 GiB), and a job takes 10-30 s of
# its 2 vCPUs. An admin who uploads a model should wait about a minute at most, so each
# instance may have MAX_JOB_WAIT_SECONDS / JOB_SECONDS jobs waiting before the group grows.
WORKER_PIPELINES = 1
JOB_SECONDS = 30
MAX_JOB_WAIT_SECONDS = 60
JOBS_WAITING_PER_INSTANCE = MAX_JOB_WAIT_SECONDS / JOB_SECONDS
# Uploads are rare: one instance at all times (a job never waits for a boot), up to four for
# a catalogue imported at once (about eight jobs a minute).
WORKER_MIN_INSTANCES = 1
WORKER_MAX_INSTANCES = 4
# How long a release waits for each new instance's signal before it rolls back.
SIGNAL_TIMEOUT = "PT15M"


def requests_per_target_per_minute(service: str) -> float:
    """ALBRequestCountPerTarget's target: requests per instance per minute."""
    return float(round(MEASURED_RPS[service] * 60 * REQUEST_TARGET_SHARE))
