"""Values that the infrastructure templates and the running code must agree on.

Defined once here; `templates/` builds the stack from them and the services, the gateway and
the tests read them. Nothing in this module may import a third-party package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PROJECT: Final = "petshore"


# The AWS stores a service may use; the stack grants each service access to its own only.
MODELS_BUCKET: Final = "models-bucket"
# The model worker's queues: the catalog sends jobs and reads their results.
MODEL_JOBS_QUEUE: Final = "model-jobs-queue"
MODEL_RESULTS_QUEUE: Final = "model-results-queue"


@dataclass(frozen=True)
class Table:
    """A DynamoDB table a service owns: one string key, items emptied by TTL. The stack makes
    it (templates/data.py) and names it to its service in `variable`; locally the service's
    `create-table` command makes it in the emulator."""

    suffix: str
    hash_key: str
    ttl_attribute: str
    hash_key_type: str = "S"
    # A string attribute with a global secondary index of keys only (`by_<attribute>`), to
    # find an owner's items.
    index: str | None = None

    @property
    def index_name(self) -> str | None:
        return f"by_{self.index}" if self.index else None

    @property
    def variable(self) -> str:
        return f"PETSHORE_{self.suffix.upper()}_TABLE"

    def name(self, environment: str) -> str:
        # templates/data.py builds the same name with Fn::Join at deploy time.
        return f"{PROJECT}-{environment}-{self.suffix}"


# One item per cart.
CARTS: Final = Table("carts", hash_key="cart_id", ttl_attribute="expires_at_epoch")
CART_TTL_SECONDS: Final = 30 * 24 * 3600
# The different products a cart may hold; the catalog answers as many SKUs at once, so that
# a whole cart is priced with one call.
MAX_CART_LINES: Final = 100
# One item per signed-in session (keyed by its id's hash, found by customer to end them all),
# and the counters of failed sign-ins.
SESSIONS: Final = Table(
    "sessions", hash_key="session_key", ttl_attribute="expires_at_epoch", index="customer_id"
)


# The orders service's email sender (services/orders/sender.py): a checkout answers without
# waiting on SES.
SEND_MAIL: Final = "send-mail"


@dataclass(frozen=True)
class Service:
    """A backend service reached through the front door under `/api/<name>/`. Its entry is all
    that the gateway, the stack (listener rule, Auto Scaling group, role, database login,
    tables, alarms), `deploy/run.py` and `make run` need to know of it."""

    name: str
    port: int
    database: str | None = None  # the PostgreSQL database it owns, if any
    tables: tuple[Table, ...] = ()  # DynamoDB tables it owns
    stores: tuple[str, ...] = ()  # other AWS stores it uses (MODELS_BUCKET, queues)
    calls: tuple[str, ...] = ()  # services it calls over HTTP (inside the VPC)
    admin: bool = False  # has admin routes, so needs the admin token
    payments: bool = False  # charges cards, so needs the payment provider's keys
    mail: bool = False  # sends customers email (SES), so needs the sender identity
    # `python -m services.<name> <command>`s that make its AWS stores where an emulator
    # stands in for AWS (on AWS the stack makes them); then `migrate` if it has a database.
    setup: tuple[str, ...] = ()
    demo: bool = False  # `load-demo --file demo/catalog.json` loads its part of the demo shop
    # `python -m services.<name> <command>`s that run beside `serve` wherever it runs (each of
    # its instances, `make run`): work that serves no HTTP and needs no answer waiting on it.
    workers: tuple[str, ...] = ()

    @property
    def path_prefix(self) -> str:
        return f"/api/{self.name}/"

    @property
    def health_path(self) -> str:
        return f"{self.path_prefix}health"

    @property
    def docs_path(self) -> str:
        """Its OpenAPI document."""
        return f"{self.path_prefix}docs/openapi.json"

    @property
    def module(self) -> str:
        """The Python package that implements the service (`services.<name>`)."""
        return f"services.{self.name}"

    @property
    def url_variable(self) -> str:
        """Where the services that call this one find it."""
        return f"PETSHORE_{self.name.upper()}_URL"

    @property
    def database_url_variable(self) -> str:
        return f"PETSHORE_{self.name.upper()}_DATABASE_URL"


CATALOG: Final = Service(
    "catalog",
    8081,
    database="petshore_catalog",
    stores=(MODELS_BUCKET, MODEL_JOBS_QUEUE, MODEL_RESULTS_QUEUE),
    calls=("accounts",),
    admin=True,
    setup=("create-bucket",),
    demo=True,
)
CART: Final = Service("cart", 8082, tables=(CARTS,), setup=("create-table",))
ORDERS: Final = Service(
    "orders",
    8083,
    database="petshore_orders",
    calls=("catalog", "cart", "accounts"),
    admin=True,
    payments=True,
    mail=True,
    setup=("create-sender",),
    demo=True,
    workers=(SEND_MAIL,),
)
# Customers' profiles and passwords (PostgreSQL), their sessions (DynamoDB); it merges a guest
# cart into the customer's through the cart service.
ACCOUNTS: Final = Service(
    "accounts",
    8084,
    database="petshore_accounts",
    tables=(SESSIONS,),
    calls=("cart",),
    admin=True,
    setup=("create-table",),
)

# The routing table of API.md: ALB listener rules and the gateway are both built from it.
SERVICES: Final[tuple[Service, ...]] = (CATALOG, CART, ORDERS, ACCOUNTS)
MODELS_PATH_PREFIX: Final = "/models/"
# Product photos and their variants, delivered as model files are.
MEDIA_PATH_PREFIX: Final = "/media/"
# CloudFront sends /api/* to the ALB; the ALB answers paths no service owns with a JSON 404.
API_PATH_PREFIX: Final = "/api/"
GATEWAY_PORT: Final = 8080


def service_named(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)


@dataclass(frozen=True)
class Worker:
    """A process that serves no HTTP: it takes jobs from a queue (`python -m <module> work`)."""

    name: str
    module: str
    jobs_queue: str
    results_queue: str
    setup: tuple[str, ...] = ()  # as a Service's: what makes its queues in an emulator


# Validates, converts and optimises uploaded 3D models, renders their posters, and publishes
# them to the models bucket; it holds no database credentials.
MODEL_WORKER: Final = Worker(
    "modelworker",
    "modelworker",
    MODEL_JOBS_QUEUE,
    MODEL_RESULTS_QUEUE,
    setup=("create-queues",),
)


def service_for_path(path: str) -> Service | None:
    """The service that owns `path`, by the longest matching prefix of the routing table."""
    for service in sorted(SERVICES, key=lambda s: len(s.path_prefix), reverse=True):
        if path.startswith(service.path_prefix) or path == service.path_prefix.rstrip("/"):
            return service
    return None


# Health checks: the ALB target groups and the gateway's balancer use the same thresholds.
HEALTH_INTERVAL_SECONDS: Final = 10
HEALTH_TIMEOUT_SECONDS: Final = 5
HEALTHY_THRESHOLD: Final = 2
UNHEALTHY_THRESHOLD: Final = 2

# S3 models bucket. Published files live under MODELS_KEY_PREFIX with content-addressed names;
# files no active product shows any more (a discontinued product's, a replaced model's) are
# retired: tagged, and the bucket's lifecycle rule sends them to Glacier Instant Retrieval
# after RETIRED_GLACIER_DAYS.
MODELS_KEY_PREFIX: Final = "models/"
# Published photos and their variants, content-addressed like model files.
MEDIA_KEY_PREFIX: Final = "media/"
# Published files are public at the path that is their key: CloudFront sends each of these
# paths to the bucket (templates/edge.py), and the gateway serves them from it.
PUBLISHED_KEY_PREFIXES: Final = (MODELS_KEY_PREFIX, MEDIA_KEY_PREFIX)
FILE_PATH_PREFIXES: Final = (MODELS_PATH_PREFIX, MEDIA_PATH_PREFIX)
UPLOADS_KEY_PREFIX: Final = "uploads/"
# Browsers (the back office page) PUT uploads straight to the models bucket with presigned
# URLs: the bucket's CORS rule, in the stack and on the emulator's bucket alike.
UPLOAD_CORS_METHODS: Final = ("GET", "HEAD", "PUT")
UPLOAD_CORS_EXPOSED: Final = ("ETag",)  # a multipart upload's parts are named by their ETags
UPLOAD_CORS_MAX_AGE: Final = 3600
# The largest photo the catalog offers an upload for; the model worker refuses larger ones.
PHOTO_UPLOAD_MAX_BYTES: Final = 25 * 1024 * 1024
# The largest preview the model worker makes for a large model, for the page to show first.
MODEL_PREVIEW_MAX_BYTES: Final = 250_000
RETIRED_TAG_KEY: Final = "petshore-lifecycle"
RETIRED_TAG_VALUE: Final = "discontinued"  # the value deployed buckets' files carry
RETIRED_GLACIER_DAYS: Final = 30
MODEL_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"


# A job not finished within this long is offered to another worker (SQS visibility timeout);
# after MODEL_JOB_ATTEMPTS offers it goes to the dead-letter queue.
MODEL_JOB_VISIBILITY_SECONDS: Final = 900
MODEL_JOB_ATTEMPTS: Final = 3
MODEL_JOBS_QUEUE_SUFFIX: Final = "model-jobs"
MODEL_RESULTS_QUEUE_SUFFIX: Final = "model-results"


def queue_name(environment: str, suffix: str) -> str:
    """A queue's name where nothing else names it (local runs and tests); the stack lets
    CloudFormation name its queues and passes their URLs."""
    return f"{PROJECT}-{environment}-{suffix}"


def models_bucket_name(environment: str) -> str:
    """The models bucket's name where nothing else names it (local runs and tests); the
    stack lets CloudFormation name the bucket and passes it in MODELS_BUCKET."""
    return f"{PROJECT}-{environment}-models"


# A customer's session: the cookie the accounts service sets, and the header that a change
# made with it carries (the session's CSRF token). Other services learn who the customer is
# by asking accounts (petshore.auth.signed_in).
SESSION_COOKIE: Final = "petshore_session"
CSRF_HEADER: Final = "X-CSRF-Token"
STAFF_ROLES: Final = frozenset({"staff", "owner"})
SESSIONS_PATH: Final = "/api/accounts/sessions"  # POST: sign in (the edge limits its rate)
CURRENT_SESSION_PATH: Final = f"{SESSIONS_PATH}/current"

SKU_PATTERN: Final = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,63}$")


class Env:
    """Environment variable names read by the services and written by the templates."""

    ENVIRONMENT: Final = "PETSHORE_ENVIRONMENT"
    ADMIN_TOKEN: Final = "PETSHORE_ADMIN_TOKEN"
    LOG_LEVEL: Final = "PETSHORE_LOG_LEVEL"
    ACCESS_LOG: Final = "PETSHORE_ACCESS_LOG"
    HOST: Final = "PETSHORE_HOST"
    PORT: Final = "PETSHORE_PORT"
    CATALOG_DATABASE_URL: Final = CATALOG.database_url_variable
    ORDERS_DATABASE_URL: Final = ORDERS.database_url_variable
    MODELS_BUCKET: Final = "PETSHORE_MODELS_BUCKET"
    MODEL_UPLOAD_MAX_BYTES: Final = "PETSHORE_MODEL_UPLOAD_MAX_BYTES"
    MODEL_UPLOAD_PART_BYTES: Final = "PETSHORE_MODEL_UPLOAD_PART_BYTES"
    MODEL_PIPELINE_NODE: Final = "PETSHORE_MODEL_PIPELINE_NODE"
    MODEL_PIPELINE_TIMEOUT_SECONDS: Final = "PETSHORE_MODEL_PIPELINE_TIMEOUT_SECONDS"
    MODEL_PIPELINE_WORKERS: Final = "PETSHORE_MODEL_PIPELINE_WORKERS"
    POSTER_CHROMIUM: Final = "PETSHORE_POSTER_CHROMIUM"
    MODEL_JOBS_QUEUE_URL: Final = "PETSHORE_MODEL_JOBS_QUEUE_URL"
    MODEL_RESULTS_QUEUE_URL: Final = "PETSHORE_MODEL_RESULTS_QUEUE_URL"
    QUEUE_WAIT_SECONDS: Final = "PETSHORE_QUEUE_WAIT_SECONDS"
    MODEL_WAIT_SECONDS: Final = "PETSHORE_MODEL_WAIT_SECONDS"
    CARTS_TABLE: Final = CARTS.variable
    ACCOUNTS_DATABASE_URL: Final = ACCOUNTS.database_url_variable
    SESSIONS_TABLE: Final = SESSIONS.variable
    SESSION_IDLE_SECONDS: Final = "PETSHORE_SESSION_IDLE_SECONDS"
    SIGNIN_ACCOUNT_FAILURES: Final = "PETSHORE_SIGNIN_ACCOUNT_FAILURES"
    SIGNIN_ADDRESS_FAILURES: Final = "PETSHORE_SIGNIN_ADDRESS_FAILURES"
    SIGNIN_WINDOW_SECONDS: Final = "PETSHORE_SIGNIN_WINDOW_SECONDS"
    PASSWORD_HASHERS: Final = "PETSHORE_PASSWORD_HASHERS"
    PROXIES_COUNT: Final = "PETSHORE_PROXIES_COUNT"
    MAIL_SENDER: Final = "PETSHORE_MAIL_SENDER"
    STOREFRONT_URL: Final = "PETSHORE_STOREFRONT_URL"
    CATALOG_URL: Final = CATALOG.url_variable
    CART_URL: Final = CART.url_variable
    ACCOUNTS_URL: Final = ACCOUNTS.url_variable
    UPSTREAM_TIMEOUT_SECONDS: Final = "PETSHORE_UPSTREAM_TIMEOUT_SECONDS"
    PAYMENT_PROVIDER: Final = "PETSHORE_PAYMENT_PROVIDER"
    STRIPE_SECRET_KEY: Final = "PETSHORE_STRIPE_SECRET_KEY"
    STRIPE_WEBHOOK_SECRET: Final = "PETSHORE_STRIPE_WEBHOOK_SECRET"
    STRIPE_API_BASE: Final = "PETSHORE_STRIPE_API_BASE"
    CHECKOUT_LEASE_SECONDS: Final = "PETSHORE_CHECKOUT_LEASE_SECONDS"
    RECONCILE_INTERVAL_SECONDS: Final = "PETSHORE_RECONCILE_INTERVAL_SECONDS"
    RECONCILE_AFTER_SECONDS: Final = "PETSHORE_RECONCILE_AFTER_SECONDS"
    AWS_TIMEOUT_SECONDS: Final = "PETSHORE_AWS_TIMEOUT_SECONDS"
    REQUEST_TIMEOUT_SECONDS: Final = "PETSHORE_REQUEST_TIMEOUT_SECONDS"
    GATEWAY_UPSTREAMS: Final = "PETSHORE_GATEWAY_UPSTREAMS"
    GATEWAY_HEALTH_INTERVAL: Final = "PETSHORE_GATEWAY_HEALTH_INTERVAL_SECONDS"
    WORKERS: Final = "PETSHORE_WORKERS"
    STATIC_DIR: Final = "PETSHORE_STATIC_DIR"
    # Written by the stack for `python -m deploy.run`, which turns them into the above.
    SERVICE: Final = "PETSHORE_SERVICE"
    DB_HOST: Final = "PETSHORE_DB_HOST"
    DB_PORT: Final = "PETSHORE_DB_PORT"
    DB_SECRET_ARN: Final = "PETSHORE_DB_SECRET_ARN"
    ADMIN_TOKEN_SECRET_ARN: Final = "PETSHORE_ADMIN_TOKEN_SECRET_ARN"
    STRIPE_SECRET_ARN: Final = "PETSHORE_STRIPE_SECRET_ARN"
    STACK_NAME: Final = "PETSHORE_STACK_NAME"
    SIGNAL_RESOURCE: Final = "PETSHORE_SIGNAL_RESOURCE"
    # Standard AWS SDK variables, read by botocore itself.
    AWS_REGION: Final = "AWS_DEFAULT_REGION"
    AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"


# The origin of the models bucket's presigned URLs in AWS, where the back office page PUTs its
# uploads: virtual-hosted and regional, as the services' S3 clients are told to sign them
# (petshore/aws.py), so the page's policy can name it.
S3_BUCKET_ORIGIN: Final = "https://{bucket}.s3.{region}.amazonaws.com"


def storefront_csp(upload_origin: str) -> str:
    """Security headers of the storefront's answers: CloudFront's response headers policies
    send them (templates/edge.py), and the gateway locally. The page's policy allows only what
    the page needs, and each source names its reason:
      script-src 'wasm-unsafe-eval': the mesh decoders (meshopt, Draco, Basis) are WebAssembly;
      style-src sha256: the one <style> of <model-viewer>'s shadow root (@google/model-viewer
        4.4.0; after an upgrade the browser tests fail and the console names the new hash);
      img-src data: the page's empty favicon; blob: Safari before 17 decodes a model's
        textures through <img> elements,
      connect-src blob: which other browsers fetch instead; `upload_origin`: the back office
        PUTs photos and models straight to the bucket (S3_BUCKET_ORIGIN, or the emulator's);
      worker-src blob: the Draco and Basis decoders run in workers made from blob: URLs;
      form-action 'self': the search form also works without JavaScript."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self' 'sha256-PXtZZkJMMyc18o/DN1ZEFOJ2qEGq95IQbVaJFMOXOb0='",
            "img-src 'self' data: blob:",
            f"connect-src 'self' blob: {upload_origin}",
            "worker-src blob:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


# An API answer is JSON, never a page: it may load nothing and be framed by nothing.
API_CSP: Final = "default-src 'none'; frame-ancestors 'none'"
FRAME_OPTIONS: Final = "DENY"  # frame-ancestors 'none' for browsers that predate CSP
# Full addresses go to the storefront's own API only; other sites learn nothing of them.
REFERRER_POLICY: Final = "same-origin"

# How long public catalog reads may be reused: the catalog's Cache-Control says it, and the
# CloudFront cache policy for /api/catalog/* keeps nothing longer.
CATALOG_CACHE_SECONDS: Final = 60
