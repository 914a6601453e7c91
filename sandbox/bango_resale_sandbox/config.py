"""The sandbox's configuration: resellers, merchants with per-product behaviour, limits.

Read from a TOML file; the packaged `default_config.toml` is used when none is given.
"""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import config_schema

DEFAULT_CONFIG_RESOURCE = "default_config.toml"

# Operations a product can be told to finish asynchronously (202, then a notification).
ASYNC_CAPABLE_OPERATIONS = frozenset(config_schema.enum("product", "async_operations"))


# Notifications may go to loopback only unless the configuration says otherwise.
_DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")


class ConfigError(ValueError):
    """The configuration file is missing something or holds a value of the wrong kind."""


class ActivationMode(StrEnum):
    """How a merchant brings a new entitlement to life."""

    IMMEDIATE = "immediate"  # ACTIVE in the create response
    PENDING = "pending"  # PENDING; the merchant activates later with no user step
    CLIENT_ACTION = "client_action"  # PENDING; the user must sign up (NAVIGATE_TO_URL)


class CancelMode(StrEnum):
    """What a merchant does with a cancel of an ACTIVE entitlement."""

    IMMEDIATE = "immediate"  # CANCELLED at once
    PERIOD_END = "period_end"  # ACTIVE-ENDING until the paid period is over


@dataclass(frozen=True, slots=True)
class ProductBehaviour:
    """How the sandbox's mock merchant treats entitlements for one product."""

    merchant_account_key: str
    product_key: str
    display_name: str
    activation: ActivationMode = ActivationMode.IMMEDIATE
    # For PENDING activation: sandbox seconds until the merchant activates by itself;
    # None means only the control endpoint completes it.
    activation_delay_seconds: float | None = None
    cancel: CancelMode = CancelMode.IMMEDIATE
    period_days: int = 30
    async_operations: frozenset[str] = frozenset()
    # For asynchronous operations: sandbox seconds until the merchant confirms by itself.
    async_delay_seconds: float | None = None
    supports_suspend: bool = True
    supports_reactivate: bool = True
    # Live entitlements one customer may hold for this product; 0 means no limit.
    max_entitlements_per_customer: int = 0


@dataclass(frozen=True, slots=True)
class NotificationAuth:
    """How the deliverer authenticates to a reseller's notification receiver."""

    kind: str = "none"  # none | basic | api_key | bearer
    username: str = ""
    password: str = ""
    key: str = ""
    token: str = ""

    def headers(self) -> dict[str, str]:
        """The HTTP headers that carry these credentials."""
        if self.kind == "basic":
            raw = f"{self.username}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        if self.kind == "api_key":
            return {"X-Api-Key": self.key}
        if self.kind == "bearer":
            return {"Authorization": f"Bearer {self.token}"}
        return {}


@dataclass(frozen=True, slots=True)
class ResellerConfig:
    """A reseller organisation: its API password and its notification credentials."""

    name: str
    password: str
    notification_auth: NotificationAuth = NotificationAuth()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket per reseller; `requests_per_second == 0` switches it off."""

    requests_per_second: float = 100_000.0
    burst: float = 200_000.0


def is_loopback(host: str) -> bool:
    """True for a name of this machine's loopback interface."""
    return host == "localhost" or host == "::1" or host.startswith("127.")


@dataclass(frozen=True, slots=True)
class NotificationTargets:
    """The notification allow-list: hosts, each with every port (None) or some; minus the
    addresses the sandbox itself listens on (`serving_on`)."""

    hosts: tuple[tuple[str, frozenset[int] | None], ...]
    # The sandbox's own: ports on every loopback name, and (host, port) addresses.
    own_loopback_ports: frozenset[int] = frozenset()
    own_addresses: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def parse(cls, entries: object, where: str) -> NotificationTargets:
        """From entries "host" (any port), "host:port", "[ipv6]" or "[ipv6]:port"."""
        if not isinstance(entries, list | tuple):
            raise ConfigError(f"{where}: expected a list of hosts, got {entries!r}")
        ports: dict[str, set[int] | None] = {}
        for entry in entries:
            host, port = _host_and_port(entry, where)
            known = ports.get(host, set())
            if port is None or known is None:
                ports[host] = None  # every port
            else:
                ports[host] = known | {port}
        return cls(tuple((host, None if p is None else frozenset(p)) for host, p in ports.items()))

    def admits(self, host: str, port: int) -> bool:
        host = host.lower()
        if (host, port) in self.own_addresses or (
            port in self.own_loopback_ports and is_loopback(host)
        ):
            return False
        return any(name == host and (p is None or port in p) for name, p in self.hosts)

    def serving_on(self, host: str, port: int) -> NotificationTargets:
        """A copy that never admits the sandbox's own address: the port on every loopback name
        when it listens on loopback or on every interface, else on the host it listens on."""
        host = host.lower().strip("[]")
        if host in {"", "0.0.0.0", "::"} or is_loopback(host):
            return replace(self, own_loopback_ports=self.own_loopback_ports | {port})
        return replace(self, own_addresses=self.own_addresses | {(host, port)})


def _host_and_port(entry: object, where: str) -> tuple[str, int | None]:
    if not isinstance(entry, str) or not entry.strip():
        raise ConfigError(f"{where}: expected host or host:port strings, got {entry!r}")
    text = entry.strip().lower()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else None
        if not bracket or (rest and port_text is None):
            raise ConfigError(f"{where}: {entry!r} is not [address] or [address]:port")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, None  # a name, an IPv4 address or a bare IPv6 address
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{where}: {entry!r} names no port between 1 and 65535")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """Where and how notifications may be delivered."""

    allowed_hosts: NotificationTargets = NotificationTargets(
        tuple((host, None) for host in _DEFAULT_ALLOWED_HOSTS)
    )
    timeout_seconds: float = 5.0
    first_retry_seconds: float = 0.5
    max_retry_seconds: float = 60.0
    # A notification without a 2xx this long after it was written is given up, so that the
    # entitlement's later notifications are not held back for good.
    give_up_after_seconds: float = 86400.0


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one connection may make the HTTP server hold, and for how long."""

    # Bytes of a request line plus headers; a larger head is answered 431 and closed.
    max_header_bytes: int = 16384
    # Seconds to receive a whole request once its first byte has come.
    request_timeout_seconds: float = 10.0
    # Seconds an idle keep-alive connection stays open between requests, once a request on it
    # has authenticated.
    keep_alive_seconds: int = 30
    # Seconds a connection that has not authenticated may stay idle: before its first request,
    # and between requests.
    unauthenticated_keep_alive_seconds: float = 5.0
    # Open connections, in all and from one source address. A new connection over either takes
    # the place of an idle one (unauthenticated first, the longest idle first); when every
    # connection is serving a request, the new one is closed at once.
    max_connections: int = 1000
    max_connections_per_source: int = 256


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Everything the sandbox reads from its configuration file."""

    resellers: Mapping[str, ResellerConfig]
    products: Mapping[tuple[str, str], ProductBehaviour]
    rate_limit: RateLimit = RateLimit()
    # Failed logins allowed (token buckets) per source address, per source address and user
    # name, and per configured user name over all addresses (see ratelimit.LoginThrottle).
    failed_logins_per_source: RateLimit = RateLimit(requests_per_second=1.0, burst=20.0)
    failed_logins_per_source_user: RateLimit = RateLimit(requests_per_second=0.1, burst=20.0)
    failed_logins_per_user: RateLimit = RateLimit(requests_per_second=0.1, burst=100.0)
    delivery: DeliveryConfig = DeliveryConfig()
    limits: ServerLimits = ServerLimits()
    max_body_bytes: int = 65536
    # Scheme, host and port under which clients reach the sandbox (the sign-up page's links);
    # empty means the address each connection arrived on.
    public_base_url: str = ""
    # Browser origins (scheme://host[:port]) besides the sandbox's own whose pages may send
    # writes; a request with any other Origin that would change something is refused.
    trusted_origins: frozenset[str] = frozenset()
    activation_url_ttl_seconds: float = 3600.0
    sqlite_synchronous: str = "NORMAL"
    postgresql_synchronous_commit: str = "off"
    # Entries of the request log kept per reseller (the console, `bango-resale logs`); 0: none.
    request_log_size: int = 10_000
    faults: frozenset[str] = field(default_factory=frozenset)

    def product(self, merchant_account_key: str, product_key: str) -> ProductBehaviour | None:
        """The behaviour of a product, or None when the merchant does not sell it."""
        return self.products.get((merchant_account_key, product_key))

    def with_resellers(self, credentials: list[tuple[str, str]]) -> SandboxConfig:
        """A copy whose resellers are exactly the given (name, password) pairs."""
        resellers = {name: ResellerConfig(name=name, password=pw) for name, pw in credentials}
        return replace(self, resellers=resellers)

    def without_login_throttle(self) -> SandboxConfig:
        """A copy that never throttles failed logins (for harnesses that probe them)."""
        off = RateLimit(requests_per_second=0.0, burst=1.0)
        return replace(
            self,
            failed_logins_per_source=off,
            failed_logins_per_source_user=off,
            failed_logins_per_user=off,
        )

    def serving_on(self, host: str, port: int) -> SandboxConfig:
        """A copy that knows the address the sandbox listens on: notifications never go
        there (a reseller must not make the sandbox call itself)."""
        delivery = replace(
            self.delivery, allowed_hosts=self.delivery.allowed_hosts.serving_on(host, port)
        )
        return replace(self, delivery=delivery)

    def with_faults(self, faults: frozenset[str]) -> SandboxConfig:
        """A copy with the given deliberate faults switched on."""
        return replace(self, faults=faults)


def default_config_text() -> str:
    """The TOML text of the configuration shipped with the package."""
    return resources.files(__package__).joinpath(DEFAULT_CONFIG_RESOURCE).read_text("utf-8")


def load_config(path: Path | None = None) -> SandboxConfig:
    """Read a configuration file, or the packaged default when `path` is None. A `ConfigError`
    names the file and the key."""
    name = str(path) if path is not None else DEFAULT_CONFIG_RESOURCE
    text = default_config_text() if path is None else path.read_text("utf-8")
    try:
        return parse_config(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


def parse_config(data: Mapping[str, Any]) -> SandboxConfig:
    """Build a configuration from parsed TOML. The schema (`config.schema.json`) checks every
    key and kind first; what a key leaves out keeps the dataclasses' default."""
    found = config_schema.problems(data)
    if found:
        raise ConfigError(found[0])
    server = data.get("server", {})
    delivery = data.get("delivery", {})
    logins = data.get("failed_logins", {})
    settings: dict[str, Any] = {
        **_present(server, float, "activation_url_ttl_seconds"),
        **_present(server, int, "max_body_bytes"),
    }
    if "sqlite_synchronous" in server:
        settings["sqlite_synchronous"] = str(server["sqlite_synchronous"]).upper()
    if "postgresql_synchronous_commit" in server:
        commit = str(server["postgresql_synchronous_commit"]).lower()
        settings["postgresql_synchronous_commit"] = commit
    if "public_base_url" in server:
        settings["public_base_url"] = _base_url(
            server["public_base_url"], "[server] public_base_url"
        )
    if "trusted_origins" in server:
        settings["trusted_origins"] = _origins(server["trusted_origins"])
    delivery_settings: dict[str, Any] = _present(
        delivery,
        float,
        "timeout_seconds",
        "first_retry_seconds",
        "max_retry_seconds",
        "give_up_after_seconds",
    )
    if "allowed_hosts" in delivery:
        delivery_settings["allowed_hosts"] = NotificationTargets.parse(
            delivery["allowed_hosts"], "[delivery] allowed_hosts"
        )
    limits = {
        **_present(server, int, "max_header_bytes", "keep_alive_seconds"),
        **_present(server, int, "max_connections", "max_connections_per_source"),
        **_present(server, float, "request_timeout_seconds", "unauthenticated_keep_alive_seconds"),
    }
    return SandboxConfig(
        resellers=_parse_resellers(data.get("resellers", {})),
        products=_parse_merchants(data.get("merchants", {})),
        rate_limit=RateLimit(
            **_present(data.get("rate_limit", {}), float, "requests_per_second", "burst")
        ),
        failed_logins_per_source=_login_bucket(logins, "per_source"),
        failed_logins_per_source_user=_login_bucket(logins, "per_source_user"),
        failed_logins_per_user=_login_bucket(logins, "per_user"),
        delivery=DeliveryConfig(**delivery_settings),
        limits=ServerLimits(**limits),
        **_present(data.get("console", {}), int, "request_log_size"),
        **settings,
    )


def _present(table: Mapping[str, Any], kind: type, *keys: str) -> dict[str, Any]:
    """The keys the table gives, as `kind`: the others keep their defaults."""
    return {key: kind(table[key]) for key in keys if key in table}


def _login_bucket(logins: Mapping[str, Any], prefix: str) -> RateLimit:
    """One failed-login bucket (`<prefix>_per_second`, `<prefix>_burst`) over its default."""
    default = next(f.default for f in fields(SandboxConfig) if f.name == f"failed_logins_{prefix}")
    assert isinstance(default, RateLimit)
    return RateLimit(
        requests_per_second=float(logins.get(f"{prefix}_per_second", default.requests_per_second)),
        burst=float(logins.get(f"{prefix}_burst", default.burst)),
    )


def _base_url(value: str, where: str) -> str:
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username is not None
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(f"{where}: expected scheme://host[:port] (http or https), got {value!r}")
    return value.rstrip("/")


def _origins(values: list[str]) -> frozenset[str]:
    return frozenset(
        _base_url(value, f"[server] trusted_origins[{index}]").lower()
        for index, value in enumerate(values)
    )


def _parse_resellers(table: Mapping[str, Any]) -> dict[str, ResellerConfig]:
    resellers: dict[str, ResellerConfig] = {}
    for name, entry in table.items():
        auth = entry.get("notification_auth", {})
        resellers[name] = ResellerConfig(
            name=name,
            password=entry["password"],
            notification_auth=NotificationAuth(
                kind=auth.get("type", "none"),
                **{
                    key: str(auth[key])
                    for key in ("username", "password", "key", "token")
                    if key in auth
                },
            ),
        )
    return resellers


def _parse_merchants(table: Mapping[str, Any]) -> dict[tuple[str, str], ProductBehaviour]:
    products: dict[tuple[str, str], ProductBehaviour] = {}
    for merchant, entry in table.items():
        for product, settings in entry["products"].items():
            behaviour: dict[str, Any] = {
                **_present(settings, float, "activation_delay_seconds", "async_delay_seconds"),
                **_present(settings, int, "period_days", "max_entitlements_per_customer"),
                **_present(settings, bool, "supports_suspend", "supports_reactivate"),
            }
            if "activation" in settings:
                behaviour["activation"] = ActivationMode(settings["activation"])
            if "cancel" in settings:
                behaviour["cancel"] = CancelMode(settings["cancel"])
            if "async_operations" in settings:
                behaviour["async_operations"] = frozenset(settings["async_operations"])
            products[(merchant, product)] = ProductBehaviour(
                merchant_account_key=merchant,
                product_key=product,
                display_name=str(settings.get("display_name", product)),
                **behaviour,
            )
    return products
