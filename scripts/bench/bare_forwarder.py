"""A forwarder with nothing but the proxy's two parts: uvicorn serving an ASGI application that
sends each request on with aiohttp and passes the answer back, no judging, no limits. It is
the floor the validating proxy is measured against (`bench_proxy.py --floor`): what the
server and client libraries alone cost per request on this machine.

Usage: python scripts/bench/bare_forwarder.py UPSTREAM_URL  (prints "listening on PORT")
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import uvicorn
import uvloop
import yarl

Message = MutableMapping[str, Any]


def forwarder(upstream: str) -> Callable[..., Awaitable[None]]:
    session: aiohttp.ClientSession | None = None

    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        nonlocal session
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                session = aiohttp.ClientSession(
                    auto_decompress=False,
                    cookie_jar=aiohttp.DummyCookieJar(),
                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                )
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert session is not None
        body = (await receive()).get("body", b"")
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        target = scope["raw_path"] + (
            b"?" + scope["query_string"] if scope["query_string"] else b""
        )
        url = yarl.URL(upstream + target.decode(), encoded=True)
        async with session.request(
            scope["method"], url, headers=headers, data=body or None, allow_redirects=False
        ) as answer:
            content = await answer.read()
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": answer.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": content})

    return app


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
    print(f"listening on {listener.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        forwarder(sys.argv[1].rstrip("/")),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
    )
    uvloop.run(uvicorn.Server(config).serve(sockets=[listener]))


if __name__ == "__main__":
    main()
