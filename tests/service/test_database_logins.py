"""The database logins function (deploy/database_logins.py), the one holder of the master
login, against the real PostgreSQL server and the emulator's Secrets Manager: it makes a
service's role and database, rotates its password in Secrets Manager's four steps, and a
service reads the rotated password at its next connection with no restart. The local server
speaks no TLS: the function's TLS is tried against a stand-in server with throwaway
certificates (trustme)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import asyncpg
import pytest
import scramp
import trustme
from pg8000.exceptions import InterfaceError

from deploy import database_logins
from deploy.database_logins import connect, ensure_login, tls_context
from petshore.contract import Env
from petshore.db import SecretPassword, keep_session, tortoise_config
from templates.dependencies import rds_ca_bundle
from tests.conftest import POSTGRES
from tests.helpers import emulator_client

SERVER = urlsplit(POSTGRES)
SCRAM = "SCRAM-SHA-256"


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's settings for the local server, which speaks no TLS."""
    for name, value in {
        "HOST": SERVER.hostname or "127.0.0.1",
        "PORT": str(SERVER.port or 5432),
        "TLS": "false",
    }.items():
        monkeypatch.setenv(name, value)


async def _stored(user: str) -> tuple[str, str | None]:
    """The role's stored password, and the owner of the database of the same name."""
    conn = await asyncpg.connect(POSTGRES)
    try:
        password = await conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", user)
        owner = await conn.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", user
        )
        return str(password), owner
    finally:
        await conn.close()


def _verifies(stored: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 client that knows `password` signs in against `stored`, as
    PostgreSQL checks it (the local server trusts every login, so scramp plays it)."""
    found = re.fullmatch(rf"{SCRAM}\$(\d+):([^$]+)\$([^:]+):(.+)", stored)
    assert found, stored
    iterations, *keys = found.groups()
    salt, stored_key, server_key = (base64.b64decode(k) for k in keys)
    server = scramp.ScramMechanism(SCRAM).make_server(
        lambda _: (salt, stored_key, server_key, int(iterations))
    )
    client = scramp.ScramClient([SCRAM], "service", password)
    server.set_client_first(client.get_client_first())
    client.set_server_first(server.get_server_first())
    try:
        server.set_client_final(client.get_client_final())
    except scramp.ScramException:
        return False
    client.set_server_final(server.get_server_final())
    return True


def test_a_login_is_made_once_and_its_password_sent_as_a_verifier(
    login: dict[str, str], database: None
) -> None:
    db = connect(SERVER.username or "postgres", SERVER.password or "", "postgres")
    try:
        ensure_login(db, login)
        ensure_login(db, login)  # every deploy runs it again
    finally:
        db.close()
    stored, owner = asyncio.run(_stored(login["username"]))
    assert owner == login["username"]
    assert stored.startswith(f"{SCRAM}$4096:") and _verifies(stored, login["password"])
    assert not _verifies(stored, login["password"] + "x")


def test_tls_trusts_the_rds_authorities_alone_and_checks_the_endpoints_name() -> None:
    bundle = rds_ca_bundle()
    context = tls_context(bundle)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    in_bundle = ssl.create_default_context(cadata=bundle.read_text()).get_ca_certs()
    assert context.get_ca_certs() == in_bundle, "RDS's authorities and no others"


@pytest.fixture
def tls_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[trustme.CA, list[str]]]:
    """A stand-in for RDS that answers PostgreSQL's TLS request with a certificate for
    `localhost` from a throwaway authority: the authority, and what became of each
    handshake."""
    authority = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(served)
    listener = socket.create_server(("127.0.0.1", 0))
    outcomes: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(8)  # SSLRequest
                conn.sendall(b"S")
                try:
                    with served.wrap_socket(conn, server_side=True):
                        outcomes.append("encrypted")
                except (ssl.SSLError, OSError) as refused:
                    outcomes.append(f"refused: {refused}")

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setenv("PORT", str(listener.getsockname()[1]))
    monkeypatch.setenv("TLS", "true")
    try:
        yield authority, outcomes
    finally:
        listener.close()


def _trust(monkeypatch: pytest.MonkeyPatch, authorities: Path) -> None:
    # connect() takes the bundle from beside the function's code, as in its zip.
    monkeypatch.setattr(database_logins, "RDS_CA_BUNDLE", authorities)


def test_a_database_whose_certificate_rds_did_not_sign_is_refused(
    tls_server: tuple[trustme.CA, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST", "localhost")
    _trust(monkeypatch, rds_ca_bundle())
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        connect("master", "secret", "postgres")


def test_a_certificate_for_another_name_is_refused_and_the_right_one_taken(
    tls_server: tuple[trustme.CA, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    authority, outcomes = tls_server
    bundle = tmp_path / "authorities.pem"
    authority.cert_pem.write_to_path(str(bundle))
    _trust(monkeypatch, bundle)
    monkeypatch.setenv("HOST", "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        connect("master", "secret", "postgres")
    # The name the certificate is for: TLS is made, then the stand-in (no PostgreSQL) hangs up.
    monkeypatch.setenv("HOST", "localhost")
    with pytest.raises(InterfaceError):
        connect("master", "secret", "postgres")
    assert outcomes == [outcomes[0], "encrypted"] and outcomes[0].startswith("refused")


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The function's and the service's environment, on the emulator."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    return emulator_client(moto_url, "secretsmanager")


def _function_environment(monkeypatch: pytest.MonkeyPatch, manager: Any) -> None:
    master = {"username": SERVER.username, "password": SERVER.password or ""}
    arn = manager.create_secret(Name=f"master-{uuid.uuid4().hex}", SecretString=json.dumps(master))
    monkeypatch.setenv("MASTER_SECRET_ARN", arn["ARN"])


class _Responses(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        size = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(size)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_as_a_custom_resource_it_makes_the_logins_and_tells_cloudformation(
    login: dict[str, str], aws: Any, database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _function_environment(monkeypatch, aws)
    arn = aws.create_secret(Name=f"login-{uuid.uuid4().hex}", SecretString=json.dumps(login))
    server = HTTPServer(("127.0.0.1", 0), _Responses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        event = {
            "RequestType": "Create",
            "ResponseURL": f"http://127.0.0.1:{server.server_port}/response",
            "StackId": "stack",
            "RequestId": "request",
            "LogicalResourceId": "DatabaseLogins",
            "ResourceProperties": {"LoginSecretArns": [arn["ARN"]]},
        }
        database_logins.handler(event, None)
        database_logins.handler(
            {**event, "ResourceProperties": {"LoginSecretArns": ["nope"]}}, None
        )
    finally:
        server.shutdown()
    made, failed = _Responses.received[-2:]
    assert made["Status"] == "SUCCESS" and made["LogicalResourceId"] == "DatabaseLogins"
    assert failed["Status"] == "FAILED" and failed["Reason"]
    stored, owner = asyncio.run(_stored(login["username"]))
    assert owner == login["username"] and _verifies(stored, login["password"])


def test_a_rotation_changes_the_password_and_the_service_reads_it_at_its_next_connection(
    login: dict[str, str], aws: Any, database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _function_environment(monkeypatch, aws)
    arn = aws.create_secret(Name=f"login-{uuid.uuid4().hex}", SecretString=json.dumps(login))["ARN"]
    database_logins.set_up([arn])
    monkeypatch.setenv(Env.DB_SECRET_ARN, arn)
    monkeypatch.setenv(Env.AWS_REGION, "us-east-1")
    connection = tortoise_config(
        f"postgres://{login['username']}:{login['password']}@db.internal:5432/{login['dbname']}",
        "services.cart",
    )["connections"]["default"]
    password = connection["credentials"]["password"]
    assert isinstance(password, SecretPassword)
    assert asyncio.run(password()) == login["password"]

    version = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        database_logins.handler(
            {"SecretId": arn, "ClientRequestToken": version, "Step": step}, None
        )
    stages = aws.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[version]
    rotated = json.loads(aws.get_secret_value(SecretId=arn, VersionId=version)["SecretString"])
    assert rotated["username"] == login["username"] and rotated["password"] != login["password"]
    stored, _ = asyncio.run(_stored(login["username"]))
    assert _verifies(stored, rotated["password"])
    # The service asks again at its next connection: the new password, no restart.
    assert asyncio.run(password()) == rotated["password"]


def test_without_a_rotating_login_the_urls_own_login_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(Env.DB_SECRET_ARN, raising=False)
    connection = tortoise_config("postgres://u:p@h:5432/d", "services.cart")["connections"]
    credentials = connection["default"]["credentials"]
    assert (credentials["user"], credentials["password"]) == ("u", "p")
    assert (credentials["host"], credentials["port"], credentials["database"]) == ("h", 5432, "d")
    # A pooled connection is not reset on release (petshore.db.keep_session).
    assert credentials["reset"] is keep_session
    sqlite = "sqlite:///tmp/x.sqlite3"
    assert tortoise_config(sqlite, "services.cart")["connections"]["default"] == sqlite
