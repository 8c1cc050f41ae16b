"""The table of contents of the production stack: one call per concern, in order."""

from __future__ import annotations

import json

from awacs.aws import Statement
from troposphere import GetAtt, If, Join, Output, Ref, Sub, Tags, Template, kms, secretsmanager

from petshore.contract import (
    MODEL_JOBS_QUEUE,
    MODEL_RESULTS_QUEUE,
    MODEL_WORKER,
    MODELS_BUCKET,
    SERVICES,
    Env,
    Service,
    Worker,
    service_named,
)
from templates.capacity import WORKER_PIPELINES
from templates.compute import ServiceResources, add_service, add_worker
from templates.data import Data, add_data
from templates.edge import DISTRIBUTION, add_edge
from templates.iam import (
    publish_models,
    read_secrets,
    receive_from,
    send_mail_from,
    send_to,
    table_access,
    take_uploads,
)
from templates.loadbalancing import LoadBalancers, add_load_balancers
from templates.logins import add_database_logins
from templates.lookups import add_lookups
from templates.network import add_network
from templates.observability import add_observability
from templates.origin import add_origin_rotation
from templates.parameters import HAS_DOMAIN, Params, add_parameters
from templates.queues import Queues, add_queues
from templates.security import POSTGRES_PORT, add_data_key, add_security, called_services
from templates.storage import Buckets, add_logs_policy, add_origin_policies, add_storage

DESCRIPTION = (
    "Pet Shore 3D: a 3D storefront - CloudFront, ALB, one Auto Scaling group per service and "
    "one for the model worker, RDS PostgreSQL, DynamoDB, SQS and S3 across two Availability "
    "Zones"
)
FIRST_RULE_PRIORITY = 10


def _admin_secret(t: Template, key: kms.Key) -> secretsmanager.Secret:
    return t.add_resource(
        secretsmanager.Secret(
            "AdminTokenSecret",
            Description="Bearer token of the storefront's admin API",
            KmsKeyId=Ref(key),
            GenerateSecretString=secretsmanager.GenerateSecretString(
                PasswordLength=48, ExcludePunctuation=True
            ),
        )
    )


def _payment_secret(t: Template, key: kms.Key) -> secretsmanager.Secret:
    """The payment provider's keys, which only the shop owner has: created empty, filled with
    `aws secretsmanager put-secret-value` (README), read by the orders instances at boot."""
    secret = t.add_resource(
        secretsmanager.Secret(
            "PaymentSecret",
            Description="Payment provider keys of the storefront (secret_key, webhook_secret)",
            KmsKeyId=Ref(key),
            SecretString=json.dumps({"secret_key": "", "webhook_secret": ""}),
        )
    )
    t.add_output(Output("PaymentSecretArn", Value=Ref(secret)))
    return secret


def _permissions(
    service: Service,
    params: Params,
    data: Data,
    buckets: Buckets,
    queues: Queues,
    admin: secretsmanager.Secret,
    payment: secretsmanager.Secret,
) -> list[Statement]:
    statements: list[Statement] = []
    if MODELS_BUCKET in service.stores:
        statements += take_uploads(buckets.models)
    # The catalog sends jobs and reads their results; it never takes a job itself.
    if MODEL_JOBS_QUEUE in service.stores:
        statements += send_to(queues.named(MODEL_JOBS_QUEUE))
    if MODEL_RESULTS_QUEUE in service.stores:
        statements += receive_from(queues.named(MODEL_RESULTS_QUEUE))
    for table in service.tables:
        statements += table_access(data.tables[table.suffix], table.index_name)
    if service.mail:
        statements += send_mail_from(Ref(params.mail_sender))
    secrets: list[object] = [Ref(admin)] if service.admin else []
    if service.payments:
        secrets.append(Ref(payment))
    if service.database:
        # Its own login only: the master login is the database logins function's alone.
        secrets.append(Ref(data.service_secrets[service.name]))
    if secrets:
        statements += read_secrets(*secrets)
    return statements


def _environment(
    service: Service,
    params: Params,
    data: Data,
    buckets: Buckets,
    queues: Queues,
    balancers: LoadBalancers,
    admin: secretsmanager.Secret,
    payment: secretsmanager.Secret,
) -> dict[str, object]:
    env: dict[str, object] = {
        Env.ENVIRONMENT: Ref(params.environment),
        Env.HOST: "0.0.0.0",
        Env.PORT: str(service.port),
        Env.SERVICE: service.name,
        Env.AWS_REGION: Ref("AWS::Region"),
        # One worker per vCPU: one process alone can use half of a 2-vCPU instance, and the
        # 70% CPU target would never be reached.
        Env.WORKERS: "auto",
        # CloudFront and the ALB each add to X-Forwarded-For.
        Env.PROXIES_COUNT: "2",
    }
    if service.admin:
        env[Env.ADMIN_TOKEN_SECRET_ARN] = Ref(admin)
    if service.payments:
        env[Env.PAYMENT_PROVIDER] = Ref(params.payment_provider)
        env[Env.STRIPE_SECRET_ARN] = Ref(payment)
    if service.database:
        env[Env.DB_HOST] = GetAtt(data.database, "Endpoint.Address")
        env[Env.DB_PORT] = str(POSTGRES_PORT)
        env[Env.DB_SECRET_ARN] = Ref(data.service_secrets[service.name])
    if MODELS_BUCKET in service.stores:
        env[Env.MODELS_BUCKET] = Ref(buckets.models)
    if MODEL_JOBS_QUEUE in service.stores:
        env[Env.MODEL_JOBS_QUEUE_URL] = Ref(queues.named(MODEL_JOBS_QUEUE))
    if MODEL_RESULTS_QUEUE in service.stores:
        env[Env.MODEL_RESULTS_QUEUE_URL] = Ref(queues.named(MODEL_RESULTS_QUEUE))
    for table in service.tables:
        env[table.variable] = Ref(data.tables[table.suffix])
    if service.mail:
        env[Env.MAIL_SENDER] = Ref(params.mail_sender)
        # For links in emails: the shop's domain, or CloudFront's.
        env[Env.STOREFRONT_URL] = If(
            HAS_DOMAIN,
            Sub("https://${DomainName}"),
            Join("", ["https://", GetAtt(DISTRIBUTION, "DomainName")]),
        )
    for callee in service.calls:
        env[service_named(callee).url_variable] = Join(
            "", ["http://", GetAtt(balancers.internal, "DNSName")]
        )
    return env


def _worker_permissions(worker: Worker, buckets: Buckets, queues: Queues) -> list[Statement]:
    """Jobs in, published files and results out: no database, no secret, no admin token."""
    return [
        *publish_models(buckets.models),
        *receive_from(queues.named(worker.jobs_queue)),
        *send_to(queues.named(worker.results_queue)),
    ]


WORKER_CHROMIUM = "/opt/petshore/chromium/chromium"


def _worker_environment(
    worker: Worker, params: Params, buckets: Buckets, queues: Queues
) -> dict[str, object]:
    return {
        Env.ENVIRONMENT: Ref(params.environment),
        Env.AWS_REGION: Ref("AWS::Region"),
        Env.MODELS_BUCKET: Ref(buckets.models),
        Env.MODEL_JOBS_QUEUE_URL: Ref(queues.named(worker.jobs_queue)),
        Env.MODEL_RESULTS_QUEUE_URL: Ref(queues.named(worker.results_queue)),
        # Posters render in the artifact's Chromium, which deploy/boot.sh unpacks here.
        Env.POSTER_CHROMIUM: WORKER_CHROMIUM,
        Env.MODEL_PIPELINE_WORKERS: str(WORKER_PIPELINES),
    }


def _tag_everything(t: Template, params: Params) -> None:
    """Every resource that takes tags carries the environment's name."""
    for resource in t.resources.values():
        if "Tags" in resource.props and "Tags" not in resource.properties:
            resource.Tags = Tags(Environment=Ref(params.environment))


def build_template() -> Template:
    t = Template(Description=DESCRIPTION)
    t.set_version("2010-09-09")
    params = add_parameters(t)
    buckets = add_storage(t, params)
    log_policy = add_logs_policy(t, buckets)
    network = add_network(t, params, buckets.logs)
    key = add_data_key(t)
    lookups = add_lookups(t, params, key)
    groups = add_security(t, network.vpc, lookups.cloudfront_prefix_list)
    data = add_data(t, params, network, groups, key)
    logins = add_database_logins(t, params, network, groups, data, key)
    admin = _admin_secret(t, key)
    payment = _payment_secret(t, key)
    queues = add_queues(t, key)
    balancers = add_load_balancers(t, params, network, groups, buckets, log_policy, key)
    internal = {s.name for s in called_services()}
    services: dict[str, ServiceResources] = {}
    for priority, service in enumerate(SERVICES, start=FIRST_RULE_PRIORITY):
        services[service.name] = add_service(
            t,
            service=service,
            priority=priority,
            params=params,
            network=network,
            balancers=balancers,
            security_group=groups.services[service.name],
            internal=service.name in internal,
            statements=_permissions(service, params, data, buckets, queues, admin, payment),
            environment=_environment(
                service, params, data, buckets, queues, balancers, admin, payment
            ),
            key=key,
            image=lookups.image,
            # Its database login is made before its first instance boots.
            after=[logins.title] if service.database else [],
        )
    worker = add_worker(
        t,
        worker=MODEL_WORKER,
        params=params,
        network=network,
        security_group=groups.worker,
        jobs=queues.named(MODEL_WORKER.jobs_queue),
        statements=_worker_permissions(MODEL_WORKER, buckets, queues),
        environment=_worker_environment(MODEL_WORKER, params, buckets, queues),
        key=key,
        image=lookups.image,
    )
    distribution = add_edge(t, params, buckets, balancers, key)
    add_origin_rotation(
        t,
        balancers.origin_secret,
        [*(s.public_rule for s in services.values()), balancers.public_fallback],
        distribution,
        key,
    )
    add_origin_policies(t, buckets, distribution)
    add_observability(t, params, balancers, data, services, worker, queues, key, distribution)
    _tag_everything(t, params)
    return t
