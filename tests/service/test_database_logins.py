"""The database logins function (deploy/database_logins.py), the one holder of the master
login, against the real PostgreSQL server and the emulator's Secrets Manager: it makes a
service's role and database, rotates its password in Secrets Manager's four steps, and a
service reads the rotated password at its next connection with no restart."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import asyncpg
import pytest

from deploy import database_logins
from deploy.database_logins import Postgres, PostgresError, ensure_login, scram_proof
from petshore.contract import Env
from petshore.db import SecretPassword, tortoise_config
from tests.conftest import POSTGRES
from tests.helpers import emulator_client

SERVER = urlsplit(POSTGRES)


def test_the_scram_exchange_is_rfc_7677s() -> None:
    """RFC 7677's SCRAM-SHA-256 example: user "user", password "pencil"."""
    client_first = "n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = (
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    proof, server_signature = scram_proof("pencil", client_first, server_first, final)
    assert proof == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    assert server_signature == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _master() -> Postgres:
    return Postgres(
        SERVER.hostname or "127.0.0.1",
        SERVER.port or 5432,
        SERVER.username or "postgres",
        SERVER.password or "",
        "postgres",
        tls=False,
    )


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
    """Whether `stored` is the SCRAM verifier of `password` (with its own salt)."""
    iterations, rest = stored.removeprefix("SCRAM-SHA-256$").split(":", 1)
    salt = base64.b64decode(rest.split("$", 1)[0])
    return database_logins.scram_verifier(password, salt, int(iterations)) == stored


def test_a_login_is_made_once_and_its_password_sent_as_a_verifier(
    login: dict[str, str],
) -> None:
    db = _master()
    try:
        ensure_login(db, login)
        ensure_login(db, login)  # every deploy runs it again
        assert db.query("SELECT 1, NULL") == [["1", None]]
        with pytest.raises(PostgresError, match="42P01"):
            db.query("SELECT * FROM no_such_table")
        assert db.query("SELECT 2") == [["2"]], "the connection is usable after an error"
    finally:
        db.close()
    stored, owner = asyncio.run(_stored(login["username"]))
    assert owner == login["username"]
    assert stored.startswith("SCRAM-SHA-256$4096:") and _verifies(stored, login["password"])


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
    for name, value in {
        "HOST": SERVER.hostname or "127.0.0.1",
        "PORT": str(SERVER.port or 5432),
        "MASTER_SECRET_ARN": arn["ARN"],
        "TLS": "false",
    }.items():
        monkeypatch.setenv(name, value)


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
    login: dict[str, str], aws: Any, monkeypatch: pytest.MonkeyPatch
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
    login: dict[str, str], aws: Any, monkeypatch: pytest.MonkeyPatch
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


def test_without_a_rotating_login_the_url_is_used_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(Env.DB_SECRET_ARN, raising=False)
    url = "postgres://u:p@h:5432/d"
    assert tortoise_config(url, "services.cart")["connections"]["default"] == url
