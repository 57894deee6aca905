"""The one home of litecam's local web servers: the overlay page now, the control page next.

`LocalServer` runs an aiohttp application on its own thread and event loop (so the graph's threads
never wait on the network), started by `start(add_routes)` and stopped by `stop()`. Safety, the
same for every page served:
- binds to loopback by default; a non-loopback address needs a token (`check_exposure`), which
  every request must carry as `?token=...` (constant-time compare; 403 otherwise);
- bound to loopback, a request whose Host header is not a loopback name is refused (DNS rebinding);
- `origin_ok(request)`: a browser's cross-site Origin is refused for WebSockets and any request
  that changes state (any web page could otherwise reach 127.0.0.1 from the user's browser).
`inline_page` serves a page's HTML with its script inlined (one response; no file path is ever read
from a request).
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import ipaddress
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from pipeline.errors import UserError

if TYPE_CHECKING:
    from aiohttp import web

LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
IDLE_TIMEOUT_S = 15.0
"""An idle keep-alive connection is closed after this long, so idle clients cannot hold every descriptor."""
_QUIET_LOG = logging.getLogger("litecam.web")
_QUIET_LOG.addHandler(logging.NullHandler())
_QUIET_LOG.propagate = False
"""aiohttp's request-handling log: a malformed or abandoned request (a duplicate Host header, a bad
Content-Length, a client gone mid-body) is the client's problem, answered 400 by aiohttp; it must not
print a traceback on the user's terminal."""
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost; anything else counts as reachable."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_address(arg: str, option: str, default_host: str, default_port: int) -> tuple[str, int]:
    """'' → the default; 'HOST:PORT', 'PORT', '[::1]:PORT' → (host, port). `UserError` naming
    `option` (e.g. "--sink overlay") otherwise."""

    def bad(reason: str) -> UserError:
        return UserError(
            f"{option}:{arg}: {reason}; expected {option}[:HOST:PORT], e.g. {option}:{default_host}:{default_port}"
        )

    if not arg:
        return default_host, default_port
    if arg.startswith("["):
        host, sep, port_text = arg[1:].partition("]:")
        if not sep:
            raise bad("an IPv6 address needs [ADDR]:PORT")
    elif arg.isdigit():
        host, port_text = default_host, arg
    else:
        host, sep, port_text = arg.rpartition(":")
        if not sep or not host:
            raise bad("missing the port")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise bad(f"port {port_text!r} is not a number from 0 to 65535")
    return host, int(port_text)


def token_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time token check; with no token configured every request passes."""
    if expected is None:
        return True
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def check_exposure(host: str, port: int, token: str | None, what: str, token_option: str, default_host: str) -> None:
    """`UserError` for an empty token, or a non-loopback address without one."""
    if token is not None and not token:
        raise UserError(f"{token_option} is empty; give a long random string (e.g. from `openssl rand -hex 16`)")
    if not is_loopback(host) and token is None:
        raise UserError(
            f"{what} on {host}:{port} would let anyone who can reach {host} in; add {token_option} "
            f"SECRET (the page URL must then carry ?token=SECRET), or bind to loopback ({default_host})"
        )


def origin_ok(request) -> bool:
    """False for a browser request from another site (its Origin is not this server's host)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser page (OBS and browsers always send it for WebSockets and POSTs)
    return urlsplit(origin).netloc.lower() == (request.host or "").lower()


def inline_page(folder: Path, index: str, script: str) -> bytes:
    """`folder/index` with `<script src="script">` replaced by the script's text."""
    html = (folder / index).read_text(encoding="utf-8")
    tag = f'<script src="{script}"></script>'
    if tag not in html:  # pragma: no cover - a packaging mistake
        raise RuntimeError(f"{folder / index} does not load {script}")
    return html.replace(tag, "<script>\n" + (folder / script).read_text(encoding="utf-8") + "</script>").encode()


class LocalServer:
    """An aiohttp server on its own thread (see the module docstring).

    name: the thread's and messages' name. host, port: where to listen (port 0 picks a free one;
    `port` holds the real one after `start()`). token: see `check_exposure`. address_option: how the
    user sets the address (e.g. "--sink overlay"), named in errors. max_body_bytes: the largest
    request body read (aiohttp refuses a larger one)."""

    def __init__(
        self, name: str, host: str, port: int, token: str | None, address_option: str, max_body_bytes: int = 1024 * 1024
    ):
        self.name, self.host, self.port, self.token = name, host, port, token
        self.max_body_bytes = max_body_bytes
        self.address_option = address_option
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._on_stop: Callable[[], Awaitable[None]] | None = None

    @property
    def url(self) -> str:
        """The page's address for a browser: with `?token=` when one is set, and this machine's name
        for a wildcard bind (0.0.0.0, ::)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = socket.gethostname()
        query = f"?token={quote(self.token, safe='')}" if self.token is not None else ""
        return f"http://{host}:{self.port}/{query}"

    def start(self, add_routes: Callable, on_stop: Callable[[], Awaitable[None]] | None = None) -> None:
        """Listen and serve on the server's thread; `add_routes(app)` adds the routes, `on_stop()`
        (a coroutine function) runs on the loop before the server shuts down. `UserError` naming the
        port when it cannot be bound."""
        self._on_stop = on_stop
        started = threading.Event()
        failure: list[BaseException] = []
        self.loop = loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen(add_routes))
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=serve, name=f"{self.name}-server", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            exc = failure[0]
            if isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                why = {
                    errno.EADDRINUSE: "is already in use (another litecam or program is serving it)",
                    errno.EACCES: "is not allowed (ports below 1024 need root)",
                    errno.EADDRNOTAVAIL: f"cannot be bound: {self.host} is not an address of this machine",
                }
                raise UserError(
                    f"{self.name} port {self.port} on {self.host} {why[exc.errno]}; "
                    f"choose another with {self.address_option}:{self.host}:PORT"
                ) from None
            if isinstance(exc, OSError):
                raise UserError(f"{self.name} server could not listen on {self.host}:{self.port}: {exc}") from None
            raise exc

    def call_soon(self, callback, *args) -> None:
        """Run `callback(*args)` on the server's loop (from any thread; nothing once it stopped)."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(callback, *args)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        loop, thread = self.loop, self._thread
        self._thread = None
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            pass
        thread.join(timeout=10)

    # -- on the server's loop ------------------------------------------------------------------
    async def _listen(self, add_routes: Callable) -> None:
        from aiohttp import web

        app = web.Application(middlewares=[self._guard()], client_max_size=self.max_body_bytes)
        add_routes(app)
        runner = self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            keepalive_timeout=IDLE_TIMEOUT_S,
            logger=_QUIET_LOG,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        if self.port == 0:
            self.port = runner.addresses[0][1]

    async def _shutdown(self) -> None:
        if self._on_stop is not None:
            await self._on_stop()
        if self._runner is not None:
            await self._runner.cleanup()
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def host_ok(self, request) -> bool:
        """Bound to loopback: the Host header must name loopback too (no DNS rebinding)."""
        if not is_loopback(self.host):
            return True  # the token protects a reachable server
        host = request.host or ""
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].partition("]")[0]
        return is_loopback(name)

    def _guard(self):
        from aiohttp import web

        @web.middleware
        async def guard(request, handler):
            if not self.host_ok(request):
                return web.Response(status=403, text="forbidden: unexpected Host header\n")
            if not token_ok(self.token, request.query.get("token")):
                return web.Response(status=403, text=f"forbidden: this {self.name} page needs ?token=... in the URL\n")
            return await handler(request)

        return guard
