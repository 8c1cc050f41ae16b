"""`python -m deploy.run <service>` on an instance: turn the stack's secrets into the settings
the service reads, migrate, then become `python -m services.<service> serve` (the command
that also runs it locally). Its database and login were made before it booted by the
stack's database logins function (deploy/database_logins.py), which alone holds the master
login; the service reads its rotating password from its secret at each new connection
(petshore/db.py).

`python -m deploy.run orders send-mail` becomes `python -m services.orders send-mail`, with the
same settings as the service it runs beside (`Service.workers`).

`python -m deploy.run modelworker` becomes `python -m modelworker work` as it is: the model
worker holds no secret and no database, and its settings are all in its env file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import boto3

from petshore.contract import MODEL_WORKER, SERVICES, Env, Service, service_named


def _secret(client: Any, arn: str) -> dict[str, Any]:
    value = client.get_secret_value(SecretId=arn)["SecretString"]
    try:
        return dict(json.loads(value))
    except ValueError:
        return {"value": value}


def database_url(host: str, port: int, login: dict[str, Any], *, tls: bool = True) -> str:
    url = (
        f"postgres://{quote(login['username'], safe='')}:{quote(login['password'], safe='')}"
        f"@{host}:{port}/{quote(login['dbname'], safe='')}"
    )
    return url + ("?ssl=true" if tls else "")


def secret_settings(service: Service, env: dict[str, str], client: Any) -> dict[str, str]:
    """The variables the service's settings read, from the secrets the stack names in `env`."""
    settings: dict[str, str] = {}
    if service.admin:
        settings[Env.ADMIN_TOKEN] = _secret(client, env[Env.ADMIN_TOKEN_SECRET_ARN])["value"]
    if service.payments and env.get(Env.PAYMENT_PROVIDER) == "stripe":
        # Empty keys (the secret as the stack made it) stop the service with a clear error.
        keys = _secret(client, env[Env.STRIPE_SECRET_ARN])
        settings[Env.STRIPE_SECRET_KEY] = keys.get("secret_key", "")
        settings[Env.STRIPE_WEBHOOK_SECRET] = keys.get("webhook_secret", "")
    return settings


def prepare(service: Service, env: dict[str, str]) -> dict[str, str]:
    secrets = boto3.client("secretsmanager", region_name=env.get(Env.AWS_REGION))
    prepared = {**env, **secret_settings(service, env, secrets)}
    if service.database:
        # The login exists already: the stack's database logins function made it.
        host, port = env[Env.DB_HOST], int(env[Env.DB_PORT])
        login = _secret(secrets, env[Env.DB_SECRET_ARN])
        prepared[service.database_url_variable] = database_url(host, port, login)
    return prepared


def launch(
    name: str, env: dict[str, str], worker: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """The command `name` runs as, and its environment: a service's `serve`, or one of the
    workers that run beside it. A service's secrets are read on the way, and its database
    migrated before it serves; the model worker's env file is all it needs: no secret, no
    database."""
    python = sys.executable
    if name == MODEL_WORKER.name:
        return [python, "-m", MODEL_WORKER.module, "work"], env
    service = service_named(name)
    env = prepare(service, env)
    if worker is not None:
        return [python, "-m", service.module, worker], env
    if service.database:
        subprocess.run([python, "-m", service.module, "migrate"], env=env, check=True)
    return [python, "-m", service.module, "serve"], env


def workers_of(name: str) -> tuple[str, ...]:
    return () if name == MODEL_WORKER.name else service_named(name).workers


def main(argv: list[str]) -> None:
    """`<name>`, `<name> <worker>`, or `--workers <name>` (its workers, for deploy/boot.sh)."""
    names = [*(s.name for s in SERVICES), MODEL_WORKER.name]
    if len(argv) == 2 and argv[0] == "--workers" and argv[1] in names:
        print(" ".join(workers_of(argv[1])))
        return
    known = bool(argv) and argv[0] in names
    if not known or len(argv) > 2 or not set(argv[1:]) <= set(workers_of(argv[0])):
        sys.exit(f"usage: python -m deploy.run {{{'|'.join(names)}}} [worker]")
    command, env = launch(argv[0], dict(os.environ), *argv[1:])
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
