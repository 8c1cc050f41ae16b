"""The artifact an instance boots from: every locked package for both architectures, the same
bytes from the same inputs, and enough on its own (no package index) to install the services
and run them, and to install the model worker, as deploy/boot.sh does; and boot.sh's report
to CloudFormation."""

from __future__ import annotations

import filecmp
import os
import secrets
import signal
import ssl
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import httpx
import pytest

from devstack.processes import free_port
from modelworker.limits import Limits
from modelworker.pipeline import render_command
from modelworker.quality import MIN_PSNR, MIN_SSIM, compare
from petshore.contract import CART, MODEL_WORKER, ORDERS, SEND_MAIL, Env, Service
from templates.artifact import NODE_MODULES, RDS_CA, WHEELS, build_artifact
from templates.dependencies import (
    ARCHITECTURES,
    COMMON,
    SERVICES_LOCK,
    WORKER_LOCK,
    DependencyError,
    layered,
    locked_packages,
    wheel_folders,
    wheel_package,
)
from tests.service.installs import install, make_venv, node_modules, unpack


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifact(tmp_path_factory.mktemp("dist") / "petshore-artifact.tar.gz")


@pytest.fixture(scope="module")
def names(artifact: Path) -> set[str]:
    with tarfile.open(artifact) as tar:
        return set(tar.getnames())


@pytest.fixture(scope="module")
def app(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(artifact, tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def python(app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service's install: a clean venv, from the unpacked artifact only."""
    home = tmp_path_factory.mktemp("home")
    python = make_venv(tmp_path_factory.mktemp("venv"))
    install(app, python, home)
    return python


@pytest.fixture(scope="module")
def worker_python(app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model worker's install, from its own lock."""
    home = tmp_path_factory.mktemp("home")
    python = make_venv(tmp_path_factory.mktemp("worker-venv"))
    install(app, python, home, WORKER_LOCK.name)
    return python


def test_the_same_inputs_make_the_same_bytes(artifact: Path, tmp_path: Path) -> None:
    again = build_artifact(tmp_path / "another-name.tar.gz")
    assert filecmp.cmp(artifact, again, shallow=False)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_each_architecture_has_a_wheel_of_every_locked_package(names: set[str], arch: str) -> None:
    wheels = [PurePosixPath(n) for n in names if n.startswith(f"{WHEELS}/")]
    assert all(w.suffix == ".whl" for w in wheels), "sources in the artifact"
    mine = [w for w in wheels if w.parent.name in (COMMON, arch)]
    packages = [wheel_package(w.name) for w in mine]
    # A package pinned for one architecture (usd-core, x86_64) is in that one's folder only.
    assert sorted(packages) == sorted(locked_packages(arch=arch))
    for wheel in mine:
        platform_tag = wheel.stem.split("-")[-1]
        if wheel.parent.name == COMMON:
            assert platform_tag == "any", wheel
        else:
            assert platform_tag.startswith("manylinux") and platform_tag.endswith(arch), wheel


def test_a_package_published_as_sources_only_is_built_once_for_all(tmp_path: Path) -> None:
    """docopt 0.6.2 (pure Python) has no wheel on PyPI."""
    lock = tmp_path / "requirements.lock"
    lock.write_text("docopt==0.6.2\nsix==1.17.0\n")
    assert sorted(layered(wheel_folders([lock], tmp_path / "cache"))) == [
        f"{COMMON}/docopt-0.6.2-py2.py3-none-any.whl",
        f"{COMMON}/six-1.17.0-py2.py3-none-any.whl",
    ]


def test_two_locks_may_pin_a_package_differently(tmp_path: Path) -> None:
    """Each install takes its own lock's version from the same folder."""
    services, worker = tmp_path / "services.lock", tmp_path / "worker.lock"
    services.write_text("six==1.17.0\n")
    worker.write_text("six==1.16.0\n")
    assert sorted(layered(wheel_folders([services, worker], tmp_path / "cache"))) == [
        f"{COMMON}/six-1.16.0-py2.py3-none-any.whl",
        f"{COMMON}/six-1.17.0-py2.py3-none-any.whl",
    ]


def test_native_code_published_as_sources_only_stops_the_build(tmp_path: Path) -> None:
    """netifaces 0.11.0 (a C extension) has no wheel for Linux on PyPI."""
    lock = tmp_path / "requirements.lock"
    lock.write_text("docopt==0.6.2\nnetifaces==0.11.0\n")
    with pytest.raises(DependencyError, match=r"^netifaces-0\.11\.0\.tar\.gz: no wheel") as raised:
        wheel_folders([lock], tmp_path / "cache")
    assert "docopt" not in str(raised.value)
    assert not list((tmp_path / "cache" / "wheels").glob("*/*"))


@pytest.mark.parametrize(("arch", "cpu"), sorted(ARCHITECTURES.items()))
def test_each_architecture_has_the_pipelines_native_packages(
    names: set[str], arch: str, cpu: str
) -> None:
    assert f"{NODE_MODULES}/{COMMON}/sharp/package.json" in names
    for package in (f"sharp-linux-{cpu}", f"sharp-libvips-linux-{cpu}"):
        assert f"{NODE_MODULES}/{arch}/@img/{package}/package.json" in names
    others = [n for n in names if n.startswith(f"{NODE_MODULES}/{arch}/") and cpu not in n]
    assert others == [f"{NODE_MODULES}/{arch}/.package-lock.json"]


def test_the_artifact_holds_what_instances_run_and_nothing_else(names: set[str]) -> None:
    for name in (SERVICES_LOCK.name, WORKER_LOCK.name, "deploy/boot.sh", "deploy/run.py"):
        assert name in names
    for name in ("optimise.mjs", "package.json", "package-lock.json"):
        assert f"{MODEL_WORKER.module}/{name}" in names
    assert [n for n in names if n.startswith(f"{MODEL_WORKER.module}/") and n.endswith(".py")]
    tops = {n.split("/")[0] for n in names if "/" in n}
    assert tops == {"petshore", "services", MODEL_WORKER.module, "deploy", "vendor"}
    assert not [n for n in names if "node_modules" in n or "__pycache__" in n]


def test_the_services_trust_the_rds_authorities_of_every_region(artifact: Path) -> None:
    """The bundle comes in the artifact: a boot fetches no certificate from the internet."""
    with tarfile.open(artifact) as tar:
        member = tar.extractfile(RDS_CA)
        assert member is not None
        bundle = member.read().decode()
    authorities = ssl.create_default_context(cadata=bundle).get_ca_certs()
    names = {dict(pair[0] for pair in ca["subject"])["commonName"] for ca in authorities}
    for region in ("us-east-1", "eu-west-2", "ap-northeast-1", "ap-southeast-2", "ap-southeast-3"):
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names, region
    boot = (Path(__file__).resolve().parents[2] / "deploy" / "boot.sh").read_text()
    assert RDS_CA in boot and "https://" not in boot


def test_boot_installs_from_the_layers_the_artifact_has() -> None:
    boot = (Path(__file__).resolve().parents[2] / "deploy" / "boot.sh").read_text()
    assert "--no-index" in boot
    for layer in (f"{WHEELS}/{COMMON}", f"{WHEELS}/$arch"):
        assert f'--find-links "$app/{layer}"' in boot
    assert '-r "$app/$lock"' in boot
    assert f"worker={MODEL_WORKER.name}\n" in boot
    assert f"lock={SERVICES_LOCK.name}\n" in boot
    assert f"lock={WORKER_LOCK.name.replace(MODEL_WORKER.name, '$worker')}\n" in boot
    assert f'"$app/{NODE_MODULES}/{COMMON}/." "$app/{NODE_MODULES}/$arch/."' in boot
    assert 'modules="$app/$worker/node_modules"' in boot


def _found(python: Path, app: Path, modules: tuple[str, ...]) -> list[str]:
    """Those of `modules` that `python` can import."""
    script = (
        "import importlib.util, sys; "
        "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))"
    )
    found = subprocess.check_output(
        [str(python), "-c", script, *modules], cwd=app, env=_env(), text=True
    )
    return found.split()


# pxr: usd-core, which the worker's lock pins for x86_64 only, the architecture this test
# installs on (and the worker's instances have).
THREE_D = ("trimesh", "numpy", "PIL", "playwright", "pxr")


def test_a_service_installs_no_3d_library_and_the_model_worker_does(
    app: Path, python: Path, worker_python: Path
) -> None:
    assert _found(python, app, THREE_D) == []
    assert _found(worker_python, app, (*THREE_D, "boto3", "aiobotocore")) == [
        *THREE_D,
        "boto3",
        "aiobotocore",
    ]


def test_the_workers_chromium_comes_in_the_artifact_and_renders_posters(
    app: Path, worker_python: Path, tmp_path: Path
) -> None:
    """Unpacked from the artifact as deploy/boot.sh does, it draws the same poster as
    Debian's Chromium: an instance downloads no browser."""
    modules = node_modules(app, tmp_path / MODEL_WORKER.module / "node_modules")
    unpacked = subprocess.run(
        [str(worker_python), "-c", UNPACK, str(modules / "@sparticuz" / "chromium" / "bin")],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TARGET": str(tmp_path / "chromium")},
    )
    assert unpacked.returncode == 0, unpacked.stderr
    browser = Path(unpacked.stdout.strip())
    fox = Path(__file__).resolve().parents[2] / "demo" / "models" / "Fox.glb"
    posters = {}
    for name, chromium in (("artifact", browser), ("debian", Path("/usr/bin/chromium"))):
        posters[name] = tmp_path / f"{name}.webp"
        command = render_command([(fox, posters[name])], Limits().poster_px, str(chromium))
        drawn = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    psnr, ssim = compare(posters["artifact"], posters["debian"])
    assert psnr >= MIN_PSNR or ssim >= MIN_SSIM, (psnr, ssim)
    boot = (Path(__file__).resolve().parents[2] / "deploy" / "boot.sh").read_text()
    assert "$worker.chromium" in boot and "playwright install" not in boot


# What boot.sh runs, `python -m modelworker.chromium <folder>`, with the package's files where
# this test unpacked the artifact's node_modules.
UNPACK = (
    "import os, sys; from pathlib import Path; from modelworker.chromium import unpack;"
    " print(unpack(Path(os.environ['TARGET']), Path(sys.argv[1])))"
)


def test_the_pipelines_packages_load_for_this_machine(app: Path, tmp_path: Path) -> None:
    modules = node_modules(app, tmp_path / "pipeline" / "node_modules")
    loaded = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            "import sharp from 'sharp'; import '@gltf-transform/functions';"
            " console.log(sharp.versions.vips)",
        ],
        cwd=modules.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip()


def _env(**settings: str) -> dict[str, str]:
    """Only what an instance's env file holds: nothing of this checkout may leak in."""
    return {"PATH": os.environ["PATH"], "PETSHORE_HOST": "127.0.0.1", **settings}


@contextmanager
def _serving(
    service: Service, app: Path, python: Path, env: dict[str, str], log: Path
) -> Iterator[int]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(python), "-m", service.module, "serve"],
            cwd=app,
            env={**env, Env.PORT: str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # with its workers: stopped together below
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{service.name} did not start"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}{service.health_path}", timeout=2)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _run(python: Path, app: Path, env: dict[str, str], *command: str) -> None:
    done = subprocess.run(
        [str(python), "-m", *command], cwd=app, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def cart(
    app: Path, python: Path, moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """The cart from the artifact, with a worker per vCPU as on an instance: its port."""
    env = _env(
        **{
            Env.ENVIRONMENT: f"artifact-{secrets.token_hex(4)}",
            Env.WORKERS: "auto",
            Env.AWS_ENDPOINT_URL: moto_url,
            Env.AWS_REGION: "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    _run(python, app, env, CART.module, "create-table")
    log = tmp_path_factory.mktemp("logs") / "cart.log"
    with _serving(CART, app, python, env, log) as port:
        yield port


def test_the_cart_serves_from_the_artifact_alone(app: Path, python: Path, cart: int) -> None:
    imported = subprocess.check_output(
        [str(python), "-c", "import petshore, sanic; print(petshore.__file__, sanic.__file__)"],
        cwd=app,
        env=_env(),
        text=True,
    )
    own, sanic = map(Path, imported.split())
    assert own.is_relative_to(app) and sanic.is_relative_to(python.parent.parent)
    response = httpx.get(f"http://127.0.0.1:{cart}/api/cart/carts/{'A' * 22}", timeout=10)
    assert response.status_code == 404


def test_the_orders_service_migrates_and_serves_from_the_artifact(
    app: Path, python: Path, postgres_databases: dict[str, str], moto_url: str, tmp_path: Path
) -> None:
    env = _env(**{Env.ORDERS_DATABASE_URL: postgres_databases["orders"]})
    _run(python, app, env, ORDERS.module, "migrate")
    with _serving(ORDERS, app, python, env, tmp_path / "orders.log") as port:
        health = httpx.get(f"http://127.0.0.1:{port}{ORDERS.health_path}", timeout=10)
        assert health.status_code == 200
    # Its mail sender, as its own unit runs it beside it: up, and gone on SIGTERM.
    mail_env = {
        **env,
        Env.MAIL_SENDER: "shop@example.com",
        Env.AWS_ENDPOINT_URL: moto_url,
        Env.AWS_REGION: "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    log = tmp_path / "send-mail.log"
    with log.open("wb") as out:
        sender = subprocess.Popen(
            [str(python), "-m", ORDERS.module, SEND_MAIL],
            cwd=app,
            env=mail_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "sending order emails" not in log.read_text():
            assert sender.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        sender.terminate()
        assert sender.wait(timeout=30) == 0, log.read_text()


def _signal(
    app: Path,
    tmp_path: Path,
    env_lines: dict[str, str],
    seconds: int,
    call: str = 'signal_when_healthy cart "$2" "$3"',
) -> tuple[int, str, str]:
    """boot.sh's signal_when_healthy (or the function `call` runs), CloudFormation and IMDS
    played by stand-ins: its exit status, the arguments `aws` was called with, and what it
    printed."""
    env_file = tmp_path / "service.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env_lines.items()))
    bin_dir, calls = tmp_path / "bin", tmp_path / "aws-calls"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / "aws").chmod(0o755)
    script = f'source "$1"; instance_id() {{ echo i-0123456789abcdef0; }}; {call}'
    done = subprocess.run(
        [
            "bash",
            "-c",
            script,
            "boot",
            str(app / "deploy" / "boot.sh"),
            str(env_file),
            str(seconds),
        ],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    )
    return done.returncode, calls.read_text() if calls.exists() else "", done.stdout


SIGNALLED = {
    Env.STACK_NAME: "petshore-test",
    Env.SIGNAL_RESOURCE: "CartAutoScalingGroup",
    Env.AWS_REGION: "eu-west-1",
}
SIGNAL = (
    "cloudformation signal-resource --region eu-west-1 --stack-name petshore-test "
    "--logical-resource-id CartAutoScalingGroup --unique-id i-0123456789abcdef0 --status {}\n"
)


def test_boot_signals_success_once_the_service_is_healthy(
    app: Path, cart: int, tmp_path: Path
) -> None:
    status, calls, _ = _signal(app, tmp_path, {Env.PORT: str(cart), **SIGNALLED}, 60)
    assert (status, calls) == (0, SIGNAL.format("SUCCESS"))


def test_boot_signals_failure_and_fails_when_health_never_comes(app: Path, tmp_path: Path) -> None:
    status, calls, _ = _signal(app, tmp_path, {Env.PORT: str(free_port()), **SIGNALLED}, 3)
    assert (status, calls) == (1, SIGNAL.format("FAILURE"))


def test_boot_signals_nothing_without_a_stack(app: Path, cart: int, tmp_path: Path) -> None:
    status, calls, output = _signal(app, tmp_path, {Env.PORT: str(cart), Env.STACK_NAME: ""}, 60)
    assert (status, calls) == (0, "")
    assert "not signalling CloudFormation" in output


WORKER_SIGNALLED = {**SIGNALLED, Env.SIGNAL_RESOURCE: "ModelWorkerAutoScalingGroup"}
WORKER_SIGNAL = SIGNAL.replace("CartAutoScalingGroup", "ModelWorkerAutoScalingGroup")


@pytest.mark.parametrize(
    ("ready", "seconds", "outcome"), [(True, 30, "SUCCESS"), (False, 3, "FAILURE")]
)
def test_boot_signals_the_model_worker_by_its_own_check(
    app: Path, tmp_path: Path, ready: bool, seconds: int, outcome: str
) -> None:
    """`python -m modelworker check` (played by a stand-in: a file that is there or not)
    decides, as a service's health check does."""
    marker = tmp_path / "checked"
    if ready:
        marker.touch()
    call = f'worker_ready() {{ [ -e "{marker}" ]; }}; signal_when_ready "$2" "$3"'
    status, calls, _ = _signal(app, tmp_path, WORKER_SIGNALLED, seconds, call)
    assert (status, calls) == (0 if ready else 1, WORKER_SIGNAL.format(outcome))


def test_boot_runs_the_model_worker_and_its_check_as_the_unit_runs_it() -> None:
    boot = (Path(__file__).resolve().parents[2] / "deploy" / "boot.sh").read_text()
    assert '/opt/petshore/venv/bin/python -m "$worker" check' in boot
    assert "ExecStart=/opt/petshore/venv/bin/python -m deploy.run $*" in boot
    assert 'unit "$service" "$service"' in boot


def test_boot_runs_the_workers_beside_a_service_from_the_artifact(app: Path, python: Path) -> None:
    """What boot.sh asks the artifact for each of them a unit: the orders service's mail
    sender."""
    beside = subprocess.run(
        [str(python), "-m", "deploy.run", "--workers", ORDERS.name],
        cwd=app,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert beside.stdout.split() == list(ORDERS.workers) == [SEND_MAIL]
    boot = (app / "deploy" / "boot.sh").read_text()
    assert 'unit "$service-$beside" "$service" "$beside"' in boot
