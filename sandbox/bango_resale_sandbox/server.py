"""Serves an ASGI app with uvicorn, within limits on what a connection can make the server hold.

Any app: the sandbox, and the validating proxy in front of it. The limits (`ServerLimits`) come
from uvicorn's public configuration where it has a knob (the keep-alive timeout of a connection
that has authenticated; WebSockets switched off) and otherwise from the connection guard
(`_connection_guard`): the size of a request head (`431`), a deadline to receive a request, a
short idle timeout for connections that have not authenticated, caps on connections in all and
per source address that make room by closing idle connections first, and JSON refusals of
requests that cannot be served (malformed, protocol upgrades).

An app that checks credentials tells the guard which connections have passed
(`mark_authenticated`); an app that never does has every connection treated as unauthenticated,
which only means the shorter idle timeout (uvicorn's own default) applies to all of them.
"""

from __future__ import annotations

import socket
from typing import Any

from ._connection_guard import Guard, GuardMiddleware, Scope, connection_of
from .config import ServerLimits

__all__ = ["ServerLimits", "build", "mark_authenticated", "run"]

# uvicorn options the guard sets itself: another value would bypass it.
_GUARDED_OPTIONS = {
    "http": None,
    "ws": "none",
    "timeout_keep_alive": None,
    "limit_concurrency": None,
}


def mark_authenticated(scope: Scope) -> None:
    """Tell the server that the connection `scope` arrived on has presented valid credentials:
    it then keeps the longer keep-alive timeout and is closed last to make room. A no-op for a
    request not served by `build`/`run` (an in-process test client, another server)."""
    connection = connection_of(scope)
    if connection is not None:
        connection.mark_authenticated()


def build(app: Any, *, log_level: str, limits: ServerLimits, **uvicorn_options: Any) -> Any:
    """The uvicorn server (a `uvicorn.Server`) for `app`, with `limits` on every connection.

    `uvicorn_options` are further `uvicorn.Config` keyword arguments (`loop`, `backlog`,
    `proxy_headers`, ...); those the limits set themselves are refused."""
    import uvicorn

    clash = sorted(
        name
        for name, allowed in _GUARDED_OPTIONS.items()
        if name in uvicorn_options and (allowed is None or uvicorn_options[name] != allowed)
    )
    if clash:
        raise TypeError(f"set by the server's limits, not as uvicorn options: {clash}")
    uvicorn_options.pop("ws", None)
    guard = Guard(limits)
    options: dict[str, Any] = {
        "loop": "uvloop",
        "lifespan": "on",
        "access_log": False,
        # The peer address is what throttles and caps count by: never a header's claim.
        "proxy_headers": False,
        **uvicorn_options,
    }
    config = uvicorn.Config(
        GuardMiddleware(app),
        log_level=log_level,
        http=guard.protocol_class(),
        ws="none",
        timeout_keep_alive=limits.keep_alive_seconds,
        **options,
    )
    return uvicorn.Server(config)


def run(
    app: Any,
    *,
    sockets: list[socket.socket],
    log_level: str,
    limits: ServerLimits,
    **uvicorn_options: Any,
) -> None:
    """Serve `app` on already bound sockets until interrupted."""
    build(app, log_level=log_level, limits=limits, **uvicorn_options).run(sockets=sockets)
