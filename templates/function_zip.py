"""The database logins function's code, as Lambda takes it from S3: a zip of

database_logins.py      the handler (deploy/database_logins.py)
rds-ca-bundle.pem       the RDS certificate authorities it verifies the database with
pg8000/, scramp/, ...   the packages of requirements-database-logins.lock, unpacked from
                        their wheels (pure Python: the zip fits every architecture)

The same inputs make the same bytes: fixed order, times and modes, and stored rather than
deflated, so that no zlib version changes them either. Its hash names it, so the template's
S3 key changes exactly when the code does: an update then replaces the code, and a rollback
finds the previous zip where it was."""

from __future__ import annotations

import functools
import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from templates.dependencies import (
    CACHE,
    DATABASE_LOGINS_LOCK,
    RDS_CA_BUNDLE,
    DependencyError,
    pure_wheels,
    rds_ca_bundle,
)

ROOT = Path(__file__).resolve().parent.parent
HANDLER_SOURCE = ROOT / "deploy" / "database_logins.py"
HANDLER = f"{HANDLER_SOURCE.stem}.handler"
# Beside the artifact's keys in ArtifactBucket; build.py writes the zip to dist/functions/.
KEY_PREFIX = "petshore/functions/"
FOLDER = "functions"
# The earliest time a zip can hold.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
UNIX = 3  # the "made by" system, which decides how the modes below are read


@dataclass(frozen=True)
class FunctionZip:
    name: str  # database-logins-<hash of the bytes>.zip
    data: bytes

    @property
    def key(self) -> str:
        """Where in ArtifactBucket the template looks for it."""
        return KEY_PREFIX + self.name


def _unpacked(wheel: Path) -> dict[str, bytes]:
    """A pure-Python wheel's files where an install puts them: at the top of the import path
    (the dist-info too, which pg8000 reads its own version from)."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        # Scripts, headers or data files would belong elsewhere than the import path.
        elsewhere = [n for n in names if n.split("/")[0].endswith(".data")]
        if elsewhere:
            raise DependencyError(f"{wheel.name} installs files outside the import path")
        return {name: archive.read(name) for name in names}


def members(cache: Path = CACHE) -> dict[str, bytes]:
    """Each file of the zip by its name in it."""
    files = {
        HANDLER_SOURCE.name: HANDLER_SOURCE.read_bytes(),
        RDS_CA_BUNDLE: rds_ca_bundle().read_bytes(),
    }
    for wheel in sorted(pure_wheels(DATABASE_LOGINS_LOCK, cache).iterdir()):
        files |= _unpacked(wheel)
    return files


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = UNIX
            # Lambda runs the code as another user than the one who uploaded it.
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def build_zip(cache: Path = CACHE) -> FunctionZip:
    data = _zip(members(cache))
    return FunctionZip(f"database-logins-{hashlib.sha256(data).hexdigest()[:16]}.zip", data)


@functools.cache
def database_logins_zip() -> FunctionZip:
    """This checkout's zip, made once per process: the template names it, build.py writes it."""
    return build_zip()


def write_zip(dist: Path) -> Path:
    """The zip into `dist`/functions/, alone there (an earlier build's goes), so that the
    folder is what to copy to the bucket."""
    folder = dist / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    built = database_logins_zip()
    for old in folder.iterdir():
        if old.name != built.name:
            old.unlink()
    target = folder / built.name
    target.write_bytes(built.data)
    return target
