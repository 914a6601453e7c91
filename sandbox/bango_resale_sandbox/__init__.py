"""A stateful reference service for the Bango Resale entitlement API.

Run it with `bango-resale-sandbox` (or `python -m bango_resale_sandbox`); build it in code with
`create_app`. The server's dependencies come with the `sandbox` extra; they are imported on
first use, so a client-only install can still import this package and gets a message naming
the extra and the pip command that adds it (`EXTRA_HINT`) instead of a bare
`ModuleNotFoundError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bango_resale_spec import StatusMachine
from bango_resale_spec.distribution import install_command

from .config import SandboxConfig, load_config

if TYPE_CHECKING:
    from .app import SandboxApp

__all__ = ["SandboxApp", "SandboxConfig", "create_app", "load_config"]

#: What to install when the server's dependencies are missing (names the wheel or checkout this
#: installation came from).
EXTRA_HINT = install_command("sandbox")


class MissingExtraError(ModuleNotFoundError):
    """The sandbox's own dependencies are not installed (the `sandbox` extra)."""


def load_app_class() -> type[SandboxApp]:
    """`SandboxApp`, or a `MissingExtraError` naming the extra when its dependencies are absent."""
    try:
        from .app import SandboxApp
    except ModuleNotFoundError as error:
        raise MissingExtraError(
            f"the sandbox needs {error.name!r}, which comes with the 'sandbox' extra: {EXTRA_HINT}",
            name=error.name,
        ) from error
    return SandboxApp


def __getattr__(name: str) -> Any:
    if name == "SandboxApp":
        return load_app_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_app(
    db_path: str, config: SandboxConfig | None = None, machine: StatusMachine | None = None
) -> SandboxApp:
    """An ASGI application over the SQLite file `db_path` (the packaged config by default),
    executing `machine` (the shipped partner spec's status machine by default)."""
    return load_app_class()(config or load_config(), db_path, machine)
