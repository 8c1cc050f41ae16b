"""The service artifact the instances install: the shared package, the services, the
production launcher and the lock files (Python's, and the model pipeline's npm lock: the
instances install the packages themselves), as a reproducible tarball."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("petshore", "services", "deploy")
FILES = ("requirements.lock", "pyproject.toml")


def _members() -> list[Path]:
    found = [ROOT / f for f in FILES]
    for package in PACKAGES:
        found += [
            p
            for p in (ROOT / package).rglob("*")
            if p.is_file()
            and not {"__pycache__", "node_modules"} & set(p.parts)
            and p.suffix != ".pyc"
        ]
    return sorted(found)


def build_artifact(target: Path) -> Path:
    """Byte-identical for identical sources: fixed order, times and owners."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in _members():
            info = tar.gettarinfo(str(path), arcname=path.relative_to(ROOT).as_posix())
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with path.open("rb") as f:
                tar.addfile(info, f)
    with gzip.GzipFile(target, mode="wb", mtime=0) as out:
        out.write(buffer.getvalue())
    return target
