"""A stateful reference service for the Bango Resale entitlement API.

Run it with `python -m bango_resale_sandbox`; build it in code with `create_app`.
"""

from __future__ import annotations

from bango_resale_spec import StatusMachine

from .app import SandboxApp
from .config import SandboxConfig, load_config

__all__ = ["SandboxApp", "SandboxConfig", "create_app", "load_config"]


def create_app(
    db_path: str, config: SandboxConfig | None = None, machine: StatusMachine | None = None
) -> SandboxApp:
    """An ASGI application over the SQLite file `db_path` (the packaged config by default),
    executing `machine` (the shipped partner spec's status machine by default)."""
    return SandboxApp(config or load_config(), db_path, machine)
