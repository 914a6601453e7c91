"""The sandbox's configuration: resellers, merchants with per-product behaviour, limits.

Read from a TOML file; the packaged `default_config.toml` is used when none is given.
"""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CONFIG_RESOURCE = "default_config.toml"

# Operations a product can be told to finish asynchronously (202, then a notification).
ASYNC_CAPABLE_OPERATIONS = frozenset(
    {"cancel", "revoke", "suspend", "resume", "update", "reactivate"}
)


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
    """Read a configuration file, or the packaged default when `path` is None."""
    text = default_config_text() if path is None else path.read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path or DEFAULT_CONFIG_RESOURCE}: {exc}") from exc
    return parse_config(data)


def parse_config(data: Mapping[str, Any]) -> SandboxConfig:
    """Build a configuration from parsed TOML, checking every value's kind."""
    server = _table(data, "server")
    limit = _table(data, "rate_limit")
    logins = _table(data, "failed_logins")
    delivery = _table(data, "delivery")
    synchronous = str(server.get("sqlite_synchronous", "NORMAL")).upper()
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ConfigError(f"server.sqlite_synchronous: unknown value {synchronous!r}")
    commit = str(server.get("postgresql_synchronous_commit", "off")).lower()
    if commit not in {"off", "local", "on"}:
        raise ConfigError(f"server.postgresql_synchronous_commit: unknown value {commit!r}")
    return SandboxConfig(
        resellers=_parse_resellers(_table(data, "resellers")),
        products=_parse_merchants(_table(data, "merchants")),
        rate_limit=RateLimit(
            requests_per_second=_number(limit, "requests_per_second", 100_000.0),
            burst=_number(limit, "burst", 200_000.0),
        ),
        failed_logins_per_source=RateLimit(
            requests_per_second=_number(logins, "per_source_per_second", 1.0),
            burst=_number(logins, "per_source_burst", 20.0),
        ),
        failed_logins_per_source_user=RateLimit(
            requests_per_second=_number(logins, "per_source_user_per_second", 0.1),
            burst=_number(logins, "per_source_user_burst", 20.0),
        ),
        failed_logins_per_user=RateLimit(
            requests_per_second=_number(logins, "per_user_per_second", 0.1),
            burst=_number(logins, "per_user_burst", 100.0),
        ),
        delivery=DeliveryConfig(
            allowed_hosts=NotificationTargets.parse(
                delivery.get("allowed_hosts", _DEFAULT_ALLOWED_HOSTS), "delivery.allowed_hosts"
            ),
            timeout_seconds=_number(delivery, "timeout_seconds", 5.0),
            first_retry_seconds=_number(delivery, "first_retry_seconds", 0.5),
            max_retry_seconds=_number(delivery, "max_retry_seconds", 60.0),
            give_up_after_seconds=_number(delivery, "give_up_after_seconds", 86400.0),
        ),
        limits=ServerLimits(
            max_header_bytes=int(_number(server, "max_header_bytes", 16384)),
            request_timeout_seconds=_number(server, "request_timeout_seconds", 10.0),
            keep_alive_seconds=int(_number(server, "keep_alive_seconds", 30)),
            unauthenticated_keep_alive_seconds=_number(
                server, "unauthenticated_keep_alive_seconds", 5.0
            ),
            max_connections=int(_number(server, "max_connections", 1000)),
            max_connections_per_source=int(_number(server, "max_connections_per_source", 256)),
        ),
        max_body_bytes=int(_number(server, "max_body_bytes", 65536)),
        public_base_url=_base_url(server, "public_base_url"),
        trusted_origins=_origins(server, "trusted_origins"),
        activation_url_ttl_seconds=_number(server, "activation_url_ttl_seconds", 3600.0),
        sqlite_synchronous=synchronous,
        postgresql_synchronous_commit=commit,
        request_log_size=int(_number(_table(data, "console"), "request_log_size", 10_000)),
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a table")
    return value


def _number(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{key}: expected a non-negative number, got {value!r}")
    return float(value)


def _base_url(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
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
        raise ConfigError(f"{key}: expected scheme://host[:port] (http or https), got {value!r}")
    return value.rstrip("/")


def _origins(data: Mapping[str, Any], key: str) -> frozenset[str]:
    values = data.get(key, [])
    if not isinstance(values, list):
        raise ConfigError(f"{key}: expected a list of origins, got {values!r}")
    origins = set()
    for value in values:
        origin = _base_url({key: value}, key) if isinstance(value, str) and value else None
        if origin is None:
            raise ConfigError(f"{key}: expected scheme://host[:port] origins, got {value!r}")
        origins.add(origin.lower())
    return frozenset(origins)


def _optional_number(data: Mapping[str, Any], key: str) -> float | None:
    return None if key not in data else _number(data, key, 0.0)


def _parse_resellers(table: Mapping[str, Any]) -> dict[str, ResellerConfig]:
    resellers: dict[str, ResellerConfig] = {}
    for name, entry in table.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("password"), str):
            raise ConfigError(f"resellers.{name}: needs a string password")
        auth = entry.get("notification_auth", {})
        if not isinstance(auth, Mapping):
            raise ConfigError(f"resellers.{name}.notification_auth: expected a table")
        kind = str(auth.get("type", "none"))
        if kind not in {"none", "basic", "api_key", "bearer"}:
            raise ConfigError(f"resellers.{name}.notification_auth.type: unknown {kind!r}")
        resellers[name] = ResellerConfig(
            name=name,
            password=entry["password"],
            notification_auth=NotificationAuth(
                kind=kind,
                username=str(auth.get("username", "")),
                password=str(auth.get("password", "")),
                key=str(auth.get("key", "")),
                token=str(auth.get("token", "")),
            ),
        )
    return resellers


def _parse_merchants(table: Mapping[str, Any]) -> dict[tuple[str, str], ProductBehaviour]:
    products: dict[tuple[str, str], ProductBehaviour] = {}
    for merchant in table:
        for product, entry in _table(_table(table, merchant), "products").items():
            where = f"merchants.{merchant}.products.{product}"
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{where}: expected a table")
            async_ops = frozenset(str(op) for op in entry.get("async_operations", ()))
            if unknown := async_ops - ASYNC_CAPABLE_OPERATIONS:
                raise ConfigError(f"{where}.async_operations: unknown {sorted(unknown)}")
            try:
                activation = ActivationMode(entry.get("activation", "immediate"))
                cancel = CancelMode(entry.get("cancel", "immediate"))
            except ValueError as exc:
                raise ConfigError(f"{where}: {exc}") from exc
            products[(merchant, product)] = ProductBehaviour(
                merchant_account_key=merchant,
                product_key=product,
                display_name=str(entry.get("display_name", product)),
                activation=activation,
                activation_delay_seconds=_optional_number(entry, "activation_delay_seconds"),
                cancel=cancel,
                period_days=int(_number(entry, "period_days", 30)),
                async_operations=async_ops,
                async_delay_seconds=_optional_number(entry, "async_delay_seconds"),
                supports_suspend=bool(entry.get("supports_suspend", True)),
                supports_reactivate=bool(entry.get("supports_reactivate", True)),
                max_entitlements_per_customer=int(
                    _number(entry, "max_entitlements_per_customer", 0)
                ),
            )
    return products
