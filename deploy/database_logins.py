"""The only holder of the database's master login: a function the stack runs in the VPC, from
a zip that build.py makes (templates/function_zip.py): this file, pg8000 with its
dependencies (pure Python, so one zip serves every architecture), and the RDS certificate
authorities, against which the database's certificate and name are verified. The services'
instances never read the master secret.

- As a CloudFormation custom resource, on create and update: each service's role and
  database, made if missing, the role's password set to its secret's.
- As the rotation function of the services' secrets (Secrets Manager's four steps): a new
  password, set on the role, tried, then made current. The services read their secret
  whenever they open a connection (petshore/db.py), so no instance restarts.

Passwords are sent to PostgreSQL as SCRAM verifiers, never in clear, so neither the
connection nor the server's statement log ever carries one."""

from __future__ import annotations

import base64
import json
import os
import secrets
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import scramp
from pg8000.native import Connection, identifier, literal

SCRAM_ITERATIONS = 4096
TIMEOUT_SECONDS = 30
# Beside this file in the function's zip.
RDS_CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")


def tls_context(authorities: Path) -> ssl.SSLContext:
    """TLS that trusts RDS's authorities alone (Lambda's own store has none of them) and
    checks that the certificate names the endpoint connected to."""
    return ssl.create_default_context(cafile=authorities)


def connect(user: str, password: str, database: str) -> Connection:
    """A connection to the stack's database (HOST, PORT), over verified TLS unless TLS is
    `false` (the tests' local server)."""
    verified = os.environ.get("TLS", "true") == "true"
    return Connection(
        user,
        host=os.environ["HOST"],
        port=int(os.environ["PORT"]),
        password=password,
        database=database,
        # pg8000's default would fall back to plain text, or take any certificate.
        ssl_context=tls_context(RDS_CA_BUNDLE) if verified else False,
        timeout=TIMEOUT_SECONDS,
    )


def scram_verifier(password: str) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (with a new salt), which it takes
    as the password."""
    salt, stored, server, iterations = scramp.ScramMechanism("SCRAM-SHA-256").make_auth_info(
        password, SCRAM_ITERATIONS
    )
    encoded = [base64.b64encode(part).decode() for part in (salt, stored, server)]
    return f"SCRAM-SHA-256${iterations}:{encoded[0]}${encoded[1]}:{encoded[2]}"


def set_password(db: Connection, login: dict[str, Any]) -> None:
    verifier = scram_verifier(login["password"])
    db.run(f"ALTER ROLE {identifier(login['username'])} WITH PASSWORD {literal(verifier)}")


def ensure_login(db: Connection, login: dict[str, Any]) -> None:
    """The service's role and its database, made if missing; the role's password its
    secret's."""
    user, name = login["username"], login["dbname"]
    if not db.run("SELECT 1 FROM pg_roles WHERE rolname = :user", user=user):
        db.run(f"CREATE ROLE {identifier(user)} WITH LOGIN")
    set_password(db, login)
    # PostgreSQL 16+ lets a role hand a database to another only if it may SET ROLE to it.
    db.run(f"GRANT {identifier(user)} TO CURRENT_USER")
    if not db.run("SELECT 1 FROM pg_database WHERE datname = :name", name=name):
        db.run(f"CREATE DATABASE {identifier(name)} OWNER {identifier(user)}")


def _secret(arn: str, stage: str = "AWSCURRENT", version: str | None = None) -> dict[str, Any]:
    extra = {"VersionId": version} if version else {}
    client = boto3.client("secretsmanager")
    found = client.get_secret_value(SecretId=arn, VersionStage=stage, **extra)
    return dict(json.loads(found["SecretString"]))


def _master() -> Connection:
    master = _secret(os.environ["MASTER_SECRET_ARN"])
    return connect(master["username"], master["password"], "postgres")


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
        connect(login["username"], login["password"], login["dbname"]).close()
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
