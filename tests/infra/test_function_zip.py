"""The database logins function's zip (templates/function_zip.py): the same bytes from the
same inputs, the handler with pg8000 and the RDS authorities, and enough on its own to run
(Lambda's runtime adds only boto3); and the name the template gives it is its own."""

from __future__ import annotations

import io
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from templates.dependencies import (
    DATABASE_LOGINS_LOCK,
    RDS_CA_BUNDLE,
    ROOT,
    locked_packages,
    rds_ca_bundle,
    wheel_package,
)
from templates.function_zip import (
    HANDLER,
    HANDLER_SOURCE,
    KEY_PREFIX,
    ZIP_TIME,
    FunctionZip,
    build_zip,
    database_logins_zip,
    write_zip,
)


@pytest.fixture(scope="module")
def built() -> FunctionZip:
    return database_logins_zip()


@pytest.fixture(scope="module")
def archive(built: FunctionZip) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(built.data))


def test_the_same_inputs_make_the_same_bytes_and_name(built: FunctionZip, tmp_path: Path) -> None:
    """Each build below downloads its own wheels: no cache makes the bytes."""
    first, second = build_zip(tmp_path / "one"), build_zip(tmp_path / "two")
    assert first == second == built
    assert built.key == f"{KEY_PREFIX}{built.name}"


def test_it_holds_the_handler_pg8000_and_the_rds_authorities(archive: zipfile.ZipFile) -> None:
    names = set(archive.namelist())
    assert archive.read(HANDLER_SOURCE.name) == HANDLER_SOURCE.read_bytes()
    assert archive.read(RDS_CA_BUNDLE) == rds_ca_bundle().read_bytes()
    assert {"pg8000/native.py", "scramp/core.py"} <= names
    installed = {
        wheel_package(top.removesuffix(".dist-info"))
        for top in (name.split("/")[0] for name in names)
        if top.endswith(".dist-info")
    }
    assert installed == locked_packages(DATABASE_LOGINS_LOCK)
    for info in archive.infolist():
        assert info.date_time == ZIP_TIME and info.compress_type == zipfile.ZIP_STORED
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644, info.filename


def test_it_ships_the_versions_the_tests_run_it_with() -> None:
    dev = locked_packages(ROOT / "requirements-dev.lock")
    assert locked_packages(DATABASE_LOGINS_LOCK) <= dev


# As Lambda runs it: the zip's folder first on the path, boto3 from the runtime (here the
# virtualenv's).
RUN = """
import sys
sys.path.insert(0, sys.argv[1])
import dateutil, pg8000.native, scramp, six
import database_logins
for module in (database_logins, pg8000, scramp, dateutil, six):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
context = database_logins.tls_context(database_logins.RDS_CA_BUNDLE)
print(len(context.get_ca_certs()), callable(getattr(database_logins, sys.argv[2])))
"""


def test_it_runs_from_its_own_files(archive: zipfile.ZipFile, tmp_path: Path) -> None:
    archive.extractall(tmp_path)
    module, function = HANDLER.split(".")
    assert module == HANDLER_SOURCE.stem
    ran = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path), function],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    authorities, has_handler = ran.stdout.split()
    assert int(authorities) > 100 and has_handler == "True"


def test_the_build_leaves_this_zip_alone_in_its_folder(built: FunctionZip, tmp_path: Path) -> None:
    written = write_zip(tmp_path)
    stale = written.with_name("database-logins-0000000000000000.zip")
    stale.write_bytes(b"an earlier build's")
    again = write_zip(tmp_path)
    assert list(again.parent.iterdir()) == [again]
    assert again.name == built.name and again.read_bytes() == built.data
