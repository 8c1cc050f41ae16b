"""What booting from the artifact costs: its size, its wheels, and the install an instance runs.

    .venv/bin/python bench/artifact.py [--artifact dist/petshore-artifact.tar.gz] [--runs 3]

Builds the artifact in a temporary folder (from the wheel and node_modules cache: the first
build of a new lock downloads), or takes the one given. Prints its size, the wheels each
architecture installs (shared and its own), the pipeline's node_modules files, then times on
this machine what deploy/boot.sh does with it, `--runs` times in a clean folder each: unpack,
`python3.11 -m venv`, and `pip install --no-index` from the artifact's wheels; the medians, and
each run's seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from templates.artifact import NODE_MODULES, WHEELS, build_artifact  # noqa: E402
from templates.dependencies import ARCHITECTURES, COMMON  # noqa: E402
from tests.service.installs import install, make_venv, unpack  # noqa: E402


def layer_counts(artifact: Path, prefix: str) -> Counter[str]:
    """Files of each layer (any, x86_64, aarch64) under `prefix`."""
    with tarfile.open(artifact) as tar:
        names = [PurePosixPath(n) for n in tar.getnames() if n.startswith(f"{prefix}/")]
    return Counter(n.relative_to(prefix).parts[0] for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", type=Path, help="an artifact to measure (default: build)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="petshore-bench-") as scratch:
        work = Path(scratch)
        artifact = args.artifact or build_artifact(work / "petshore-artifact.tar.gz")
        print(f"artifact: {artifact.stat().st_size / 1e6:.1f} MB")
        wheels = layer_counts(artifact, WHEELS)
        for arch in ARCHITECTURES:
            print(
                f"wheels for {arch}: {wheels[COMMON] + wheels[arch]} "
                f"({wheels[COMMON]} shared, {wheels[arch]} its own)"
            )
        node = layer_counts(artifact, NODE_MODULES)
        print(
            "pipeline node_modules files: "
            + ", ".join(f"{layer} {node[layer]}" for layer in (COMMON, *ARCHITECTURES))
        )
        runs: dict[str, list[float]] = {"unpack": [], "venv": [], "pip install": []}
        for run in range(args.runs):
            folder = work / f"run-{run}"
            app, home = folder / "app", folder / "home"
            app.mkdir(parents=True)
            home.mkdir()
            times = [time.perf_counter()]
            unpack(artifact, app)
            times.append(time.perf_counter())
            python = make_venv(folder / "venv")
            times.append(time.perf_counter())
            install(app, python, home)
            times.append(time.perf_counter())
            for step, start, end in zip(runs, times, times[1:], strict=False):
                runs[step].append(end - start)
        for step, seconds in runs.items():
            each = ", ".join(f"{s:.1f}" for s in seconds)
            print(f"{step}: median {statistics.median(seconds):.1f} s ({each})")
        total = statistics.median(map(sum, zip(*runs.values(), strict=True)))
        print(f"unpack + venv + install: median {total:.1f} s")


if __name__ == "__main__":
    main()
