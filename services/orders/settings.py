"""The orders service's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from petshore.contract import ACCOUNTS, CART, CATALOG, Env
from petshore.settings import CommonSettings, SettingsError, env_float, env_str

DEFAULT_DATABASE_URL = "sqlite://var/orders.sqlite3"
PAYMENT_PROVIDERS = ("test", "stripe")


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str
    api_base: str | None


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    database_url: str
    catalog_url: str
    cart_url: str
    accounts_url: str
    upstream_timeout: float
    payment_provider: str
    stripe: StripeSettings | None
    # A checkout holds its Idempotency-Key this long without renewing it; a retry after a
    # crash takes the key over (and finishes the order it started) once the lease has run out.
    checkout_lease: float
    # How often each instance looks for checkouts that stopped half-way, and how old one must
    # be before the reconciler finishes or undoes it.
    reconcile_interval: float
    reconcile_after: float
    # From address of order emails, an identity SES has verified; None: no emails.
    mail_sender: str | None
    # Where the shop's pages are, for links in emails.
    storefront_url: str | None

    @classmethod
    def from_env(cls) -> Settings:
        provider = env_str(Env.PAYMENT_PROVIDER, "test")
        if provider not in PAYMENT_PROVIDERS:
            raise SettingsError(
                f"{Env.PAYMENT_PROVIDER}: unknown payment provider {provider!r}; "
                f"known: {', '.join(PAYMENT_PROVIDERS)}"
            )
        lease = env_float(Env.CHECKOUT_LEASE_SECONDS, 15.0)
        reconcile_after = env_float(Env.RECONCILE_AFTER_SECONDS, 120.0)
        if reconcile_after <= lease:
            raise SettingsError(
                f"{Env.RECONCILE_AFTER_SECONDS} must be longer than {Env.CHECKOUT_LEASE_SECONDS}"
                " (a checkout that is still running must not be reconciled)"
            )
        return cls(
            common=CommonSettings.from_env(),
            database_url=env_str(Env.ORDERS_DATABASE_URL, DEFAULT_DATABASE_URL),
            catalog_url=env_str(Env.CATALOG_URL, f"http://127.0.0.1:{CATALOG.port}"),
            cart_url=env_str(Env.CART_URL, f"http://127.0.0.1:{CART.port}"),
            accounts_url=env_str(Env.ACCOUNTS_URL, f"http://127.0.0.1:{ACCOUNTS.port}"),
            upstream_timeout=env_float(Env.UPSTREAM_TIMEOUT_SECONDS, 5.0),
            payment_provider=provider,
            stripe=_stripe_settings() if provider == "stripe" else None,
            checkout_lease=lease,
            reconcile_interval=env_float(Env.RECONCILE_INTERVAL_SECONDS, 30.0),
            reconcile_after=reconcile_after,
            mail_sender=env_str(Env.MAIL_SENDER, "") or None,
            storefront_url=env_str(Env.STOREFRONT_URL, "") or None,
        )


def _stripe_settings() -> StripeSettings:
    secret_key = env_str(Env.STRIPE_SECRET_KEY, "")
    webhook_secret = env_str(Env.STRIPE_WEBHOOK_SECRET, "")
    if not secret_key or not webhook_secret:
        raise SettingsError(
            f"the stripe payment provider needs {Env.STRIPE_SECRET_KEY} and "
            f"{Env.STRIPE_WEBHOOK_SECRET}"
        )
    return StripeSettings(
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        api_base=env_str(Env.STRIPE_API_BASE, "") or None,
    )
