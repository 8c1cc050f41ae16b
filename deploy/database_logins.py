"""The only holder of the database's master login: a function the stack runs in the VPC (its
source is this file, inlined into the template, so it uses nothing but the standard library
and the boto3 of Lambda's runtime). The services' instances never read the master secret.

- As a CloudFormation custom resource, on create and update: each service's role and
  database, made if missing, the role's password set to its secret's.
- As the rotation function of the services' secrets (Secrets Manager's four steps): a new
  password, set on the role, tried, then made current. The services read their secret
  whenever they open a connection (petshore/db.py), so no instance restarts.

Passwords are sent to PostgreSQL as SCRAM verifiers, never in clear, so neither the
connection nor the server's statement log ever carries one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import ssl
import struct
import urllib.request
from typing import Any

import boto3

SCRAM_ITERATIONS = 4096
PROTOCOL_3_0 = 196608
SSL_REQUEST = 80877103
AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5 = 0, 3, 5
AUTH_SASL, AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 10, 11, 12
TIMEOUT_SECONDS = 30


class PostgresError(RuntimeError):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _salted(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def scram_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password, which it takes as the password."""
    salted = _salted(password, salt, iterations)
    stored = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server = _hmac(salted, b"Server Key")
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored)}:{_b64(server)}"


def scram_proof(password: str, client_first: str, server_first: str, final: str) -> tuple[str, str]:
    """The client's proof (RFC 5802) and the server signature it must answer with."""
    fields = dict(f.split("=", 1) for f in server_first.split(","))
    salted = _salted(password, base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = _hmac(salted, b"Client Key")
    message = f"{client_first},{server_first},{final}".encode()
    signature = _hmac(hashlib.sha256(client_key).digest(), message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    return _b64(proof), _b64(_hmac(_hmac(salted, b"Server Key"), message))


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Postgres:
    """The little of PostgreSQL's wire protocol these statements need: TLS, a password
    (SCRAM-SHA-256 as RDS asks, or MD5), simple queries answered as text."""

    def __init__(
        self, host: str, port: int, user: str, password: str, database: str, *, tls: bool = True
    ) -> None:
        self.sock: socket.socket = socket.create_connection((host, port), TIMEOUT_SECONDS)
        if tls:
            self.sock.sendall(struct.pack("!ii", 8, SSL_REQUEST))
            if self.sock.recv(1) != b"S":
                raise PostgresError("the server does not speak TLS")
            # Encrypted, not authenticated: RDS's authorities are not in Lambda's trust store.
            # SCRAM never sends the password, and a verifier is all a new one crosses as.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock)
        startup = f"user\0{user}\0database\0{database}\0\0".encode()
        body = struct.pack("!i", PROTOCOL_3_0) + startup
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._authenticate(user, password)
        self._until_ready()

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise PostgresError("the server closed the connection")
            data += chunk
        return data

    def _message(self) -> tuple[bytes, bytes]:
        kind = self._read(1)
        (length,) = struct.unpack("!i", self._read(4))
        body = self._read(length - 4)
        if kind == b"E":
            fields = dict((f[:1], f[1:].decode()) for f in body.split(b"\0") if f)
            raise PostgresError(f"{fields.get(b'C', '')}: {fields.get(b'M', '')}")
        return kind, body

    def _send(self, kind: bytes, body: bytes) -> None:
        self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    def _authenticate(self, user: str, password: str) -> None:
        client_first = f"n=,r={_b64(secrets.token_bytes(18))}"
        expected = ""
        while True:
            kind, body = self._message()
            if kind != b"R":
                raise PostgresError(f"unexpected message {kind!r} while signing in")
            (code,) = struct.unpack("!i", body[:4])
            if code == AUTH_OK:
                return
            if code == AUTH_CLEARTEXT:
                self._send(b"p", password.encode() + b"\0")
            elif code == AUTH_MD5:
                inner = hashlib.md5((password + user).encode()).hexdigest().encode()
                outer = hashlib.md5(inner + body[4:8]).hexdigest()
                self._send(b"p", f"md5{outer}\0".encode())
            elif code == AUTH_SASL:
                if b"SCRAM-SHA-256" not in body[4:].split(b"\0"):
                    raise PostgresError("the server offers no SCRAM-SHA-256")
                first = f"n,,{client_first}".encode()
                self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
            elif code == AUTH_SASL_CONTINUE:
                server_first = body[4:].decode()
                nonce = dict(f.split("=", 1) for f in server_first.split(","))["r"]
                if not nonce.startswith(client_first.split("r=", 1)[1]):
                    raise PostgresError("the server's SCRAM nonce is not ours")
                final = f"c=biws,r={nonce}"
                proof, expected = scram_proof(password, client_first, server_first, final)
                self._send(b"p", f"{final},p={proof}".encode())
            elif code == AUTH_SASL_FINAL:
                if not hmac.compare_digest(body[4:].decode(), f"v={expected}"):
                    raise PostgresError("the server did not prove it knows the password")
            else:
                raise PostgresError(f"unsupported authentication {code}")

    def _until_ready(self) -> list[list[str | None]]:
        rows: list[list[str | None]] = []
        while True:
            kind, body = self._message()
            if kind == b"Z":
                return rows
            if kind == b"D":
                (count,) = struct.unpack("!h", body[:2])
                row, at = [], 2
                for _ in range(count):
                    (size,) = struct.unpack("!i", body[at : at + 4])
                    at += 4
                    row.append(None if size < 0 else body[at : at + size].decode())
                    at += max(size, 0)
                rows.append(row)

    def query(self, sql: str) -> list[list[str | None]]:
        self._send(b"Q", sql.encode() + b"\0")
        try:
            return self._until_ready()
        except PostgresError:
            self._until_ready()  # the server still ends the query with ReadyForQuery
            raise

    def close(self) -> None:
        try:
            self._send(b"X", b"")
        finally:
            self.sock.close()


def set_password(db: Postgres, login: dict[str, Any]) -> None:
    verifier = scram_verifier(login["password"], secrets.token_bytes(16))
    db.query(f"ALTER ROLE {identifier(login['username'])} WITH PASSWORD {literal(verifier)}")


def ensure_login(db: Postgres, login: dict[str, Any]) -> None:
    """The service's role and its database, made if missing; the role's password its
    secret's."""
    user, name = login["username"], login["dbname"]
    if not db.query(f"SELECT 1 FROM pg_roles WHERE rolname = {literal(user)}"):
        db.query(f"CREATE ROLE {identifier(user)} WITH LOGIN")
    set_password(db, login)
    # PostgreSQL 16+ lets a role hand a database to another only if it may SET ROLE to it.
    db.query(f"GRANT {identifier(user)} TO CURRENT_USER")
    if not db.query(f"SELECT 1 FROM pg_database WHERE datname = {literal(name)}"):
        db.query(f"CREATE DATABASE {identifier(name)} OWNER {identifier(user)}")


def _secret(arn: str, stage: str = "AWSCURRENT", version: str | None = None) -> dict[str, Any]:
    extra = {"VersionId": version} if version else {}
    client = boto3.client("secretsmanager")
    found = client.get_secret_value(SecretId=arn, VersionStage=stage, **extra)
    return dict(json.loads(found["SecretString"]))


def _master() -> Postgres:
    master = _secret(os.environ["MASTER_SECRET_ARN"])
    return Postgres(
        os.environ["HOST"],
        int(os.environ["PORT"]),
        master["username"],
        master["password"],
        "postgres",
        tls=os.environ.get("TLS", "true") == "true",
    )


def set_up(login_arns: list[str]) -> None:
    db = _master()
    try:
        for arn in login_arns:
            ensure_login(db, _secret(arn))
    finally:
        db.close()


def rotate(arn: str, version: str, step: str) -> None:
    """One of Secrets Manager's rotation steps for a service's secret (a single login: the
    services open each connection with the secret's current password)."""
    manager = boto3.client("secretsmanager")
    stages = manager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    if "AWSCURRENT" in stages.get(version, []):
        return
    if step == "createSecret" and "AWSPENDING" not in stages.get(version, []):
        login = {**_secret(arn), "password": secrets.token_hex(24)}
        manager.put_secret_value(
            SecretId=arn,
            ClientRequestToken=version,
            SecretString=json.dumps(login),
            VersionStages=["AWSPENDING"],
        )
    elif step == "setSecret":
        db = _master()
        try:
            set_password(db, _secret(arn, "AWSPENDING", version))
        finally:
            db.close()
    elif step == "testSecret":
        login = _secret(arn, "AWSPENDING", version)
        db = Postgres(
            os.environ["HOST"],
            int(os.environ["PORT"]),
            login["username"],
            login["password"],
            login["dbname"],
            tls=os.environ.get("TLS", "true") == "true",
        )
        db.close()
    elif step == "finishSecret":
        current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
        manager.update_secret_version_stage(
            SecretId=arn,
            VersionStage="AWSCURRENT",
            MoveToVersionId=version,
            RemoveFromVersionId=current,
        )


def _respond(event: dict[str, Any], status: str, reason: str) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId", "database-logins"),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS).close()


def handler(event: dict[str, Any], context: Any) -> None:
    if "Step" in event:
        rotate(event["SecretId"], event["ClientRequestToken"], event["Step"])
        return
    try:
        # Deleting the stack keeps the databases (and their final snapshot): nothing to do.
        if event["RequestType"] != "Delete":
            set_up(list(event["ResourceProperties"]["LoginSecretArns"]))
    except Exception as exc:
        _respond(event, "FAILED", f"{type(exc).__name__}: {exc}")
        return
    _respond(event, "SUCCESS", "")
