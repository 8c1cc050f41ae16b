"""The artifact the instances install: the shared package, the services, the model worker,
the production launcher, the lock files, and every third-party package they run with for
both instance architectures (templates/dependencies.py), so that an instance boots from the
artifact alone, with no PyPI or npm. A reproducible tarball:

vendor/wheels/any/              the wheels of both runtime locks that fit every architecture
vendor/wheels/<uname -m>/       the others, for x86_64 and aarch64
vendor/node/any/, <uname -m>/   the same split of the model pipeline's node_modules, which
                                deploy/boot.sh puts in modelworker/node_modules
vendor/rds-ca-bundle.pem        the RDS certificate authorities the services trust
"""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

from templates.dependencies import LOCKS, layered, node_folders, rds_ca_bundle, wheel_folders

ROOT = Path(__file__).resolve().parent.parent
# Not devstack, gateway or the tests: nothing an instance runs.
PACKAGES = ("petshore", "services", "modelworker", "deploy")
FILES = (*(lock.name for lock in LOCKS), "pyproject.toml")
WHEELS = "vendor/wheels"
RDS_CA = "vendor/rds-ca-bundle.pem"
NODE_MODULES = "vendor/node"
# gzip's own default: most of the artifact is wheels, compressed already, on which level 9
# takes twice as long (half a minute more per build) to save 0.1%.
COMPRESSION = 6


def _sources() -> dict[str, Path]:
    found = [ROOT / f for f in FILES]
    for package in PACKAGES:
        found += [
            p
            for p in (ROOT / package).rglob("*")
            if p.is_file()
            and not {"__pycache__", "node_modules"} & set(p.parts)
            and p.suffix != ".pyc"
        ]
    return {p.relative_to(ROOT).as_posix(): p for p in found}


def members() -> dict[str, Path]:
    """Each file of the artifact by its name in it, and where it comes from."""
    return (
        _sources()
        | {f"{WHEELS}/{name}": path for name, path in layered(wheel_folders()).items()}
        | {f"{NODE_MODULES}/{name}": path for name, path in layered(node_folders()).items()}
        | {RDS_CA: rds_ca_bundle()}
    )


def build_artifact(target: Path) -> Path:
    """Byte-identical for identical sources and locks: fixed order, times, owners and modes,
    and no file name in the gzip header. Written beside `target` and renamed over it, so an
    interrupted build leaves the previous artifact."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            partial.open("wb") as raw,
            gzip.GzipFile(
                filename="", fileobj=raw, mode="wb", compresslevel=COMPRESSION, mtime=0
            ) as compressed,
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name, path in sorted(members().items()):
                info = tar.gettarinfo(str(path), arcname=name)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o777 if info.issym() else 0o644
                if info.isreg():
                    with path.open("rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target
