"""The control page: change a running `litecam run` from a browser (`--control [HOST:PORT]`).

Served by the same stack as the overlay (`pipeline.web.LocalServer`: own thread, loopback by
default, a token for any other address, Host checked). Routes, fixed (no path is read from a request):
- `GET /` the page (`control_page/`), `GET /state` JSON: the live settings, the choices, fps, the
  process's CPU-ms per frame, the stages' milliseconds and tiers of the latest frame, the last
  change or refusal;
- `GET /thumbnail.jpg` the latest output frame, 320 px wide;
- `POST /settings` a JSON object of preset keys → `SettingsService.apply` (validated like a preset,
  all or nothing): 200 `{"changed": …}`, or 400 `{"error": "one line"}`;
- `POST /background` an image as the request body (PNG, JPEG, WebP or BMP, at most
  `MAX_UPLOAD_BYTES`): decoded here, kept in a private folder for the run, shown as `image:PATH`.
State-changing requests must come from the page itself: a cross-site Origin is refused (403), and
only `application/json` (settings) or an image type (uploads) is accepted, so a form on another
site cannot post either. The work of a change (loading an image) runs off the event loop and off
the stage threads; the stream keeps flowing meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

from pipeline.errors import UserError
from pipeline.media.images import header_size
from pipeline.settings import LIVE_KEYS
from pipeline.settings_service import SettingsService
from pipeline.sinks.thumbnail import ThumbnailSink
from pipeline.web import PAGE_HEADERS, LocalServer, check_exposure, inline_page, origin_ok, parse_address

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8766
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Largest background image accepted (bytes of the file)."""
MAX_SETTINGS_BYTES = 16 * 1024
UPLOAD_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/bmp": ".bmp"}
WHERE = "control page"
"""How changes and refusals made through the page are labelled on the terminal, the HUD and the page."""
CONTROL_PAGE_HEADERS = {**PAGE_HEADERS, "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
"""The page changes the camera: no other site may frame it (clickjacking)."""
PAGE_DIR = Path(__file__).resolve().parent / "control_page"


def parse_control_address(arg: str) -> tuple[str, int]:
    """'' → 127.0.0.1:8766; 'HOST:PORT', 'PORT', '[::1]:PORT' → (host, port). Raises UserError."""
    return parse_address(arg, "--control", DEFAULT_HOST, DEFAULT_PORT)


class ControlServer:
    """The control page for one running graph (see the module docstring).

    service: the graph's `SettingsService`. thumbnail: its `ThumbnailSink`. host, port, token: as for
    the overlay (a non-loopback host needs a token). `start()` / `stop()`; `url` after `start()`."""

    def __init__(
        self,
        service: SettingsService,
        thumbnail: ThumbnailSink,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
    ):
        check_exposure(host, port, token, "--control (changing the camera)", "--control-token", DEFAULT_HOST)
        self.service, self.thumbnail = service, thumbnail
        self.server = LocalServer("control", host, port, token, "--control", max_body_bytes=MAX_UPLOAD_BYTES)
        self._uploads: Path | None = None
        self.last: dict = {}
        """The last change ({"changed": …}) or refusal ({"error": …}) made through the page."""

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        from aiohttp import web

        self._page = inline_page(PAGE_DIR, "index.html", "control.js")
        self._uploads = Path(tempfile.mkdtemp(prefix="litecam-backgrounds-"))

        def routes(app: web.Application) -> None:
            app.router.add_get("/", self._page_handler)
            app.router.add_get("/state", self._state)
            app.router.add_get("/thumbnail.jpg", self._thumbnail)
            app.router.add_post("/settings", self._settings)
            app.router.add_post("/background", self._background)

        try:
            self.server.start(routes)
        except BaseException:
            shutil.rmtree(self._uploads, ignore_errors=True)
            raise

    def stop(self) -> None:
        self.server.stop()
        if self._uploads is not None:
            shutil.rmtree(self._uploads, ignore_errors=True)

    # -- handlers (the server's event loop) -------------------------------------------------------
    async def _page_handler(self, request):
        from aiohttp import web

        return web.Response(body=self._page, content_type="text/html", charset="utf-8", headers=CONTROL_PAGE_HEADERS)

    async def _state(self, request):
        from aiohttp import web

        settings = self.service.settings
        return web.json_response(
            {
                "settings": {key: getattr(settings, key) for key in sorted(LIVE_KEYS) if key != "description"},
                "choices": self.service.choices(),
                "frame": self.thumbnail.info(),
                "last": self.last,
                "latest": self.service.latest_note(),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def _thumbnail(self, request):
        from aiohttp import web

        data = await asyncio.get_running_loop().run_in_executor(None, self.thumbnail.jpeg)
        if data is None:
            return web.Response(status=404, text="no frame yet\n")
        return web.Response(
            body=data,
            content_type="image/jpeg",
            headers={"Cache-Control": "no-store", "Cross-Origin-Resource-Policy": "same-origin"},
        )

    def _refuse(self, status: int, message: str, *, labelled: bool = False):
        """Answer `status` with `message`, and post it where every refusal is shown, labelled as the
        page's (`labelled`: the message already names it, as the settings service's refusals do)."""
        from aiohttp import web

        self.last = {"error": message}
        self.service.note_refusal(message if labelled else f"{WHERE}: {message}")
        return web.json_response({"error": message}, status=status)

    async def _apply(self, values: dict):
        from aiohttp import web

        try:
            changed = await asyncio.get_running_loop().run_in_executor(None, self.service.apply, values, WHERE)
        except UserError as exc:
            return self._refuse(400, str(exc), labelled=True)
        self.last = {"changed": changed}
        return web.json_response({"changed": changed})

    async def _settings(self, request):
        if not origin_ok(request):
            return self._refuse(403, "forbidden: a request from another site")
        if request.content_type != "application/json":
            return self._refuse(415, "settings must be sent as application/json")
        if request.content_length is None or request.content_length > MAX_SETTINGS_BYTES:
            return self._refuse(413, f"settings must be a JSON object of at most {MAX_SETTINGS_BYTES} bytes")
        try:
            values = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self._refuse(400, "settings: not valid JSON (or nested too deep)")
        if not isinstance(values, dict):
            return self._refuse(400, 'settings must be a JSON object of preset keys, e.g. {"background": "blur"}')
        return await self._apply(values)

    async def _background(self, request):
        if not origin_ok(request):
            return self._refuse(403, "forbidden: a request from another site")
        suffix = UPLOAD_TYPES.get(request.content_type)
        if suffix is None:
            return self._refuse(
                415,
                f"background upload: {request.content_type or 'no type'} is not an image; "
                f"send {', '.join(UPLOAD_TYPES)}",
            )
        if request.content_length is None or request.content_length > MAX_UPLOAD_BYTES:
            return self._refuse(
                413,
                f"background upload: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB "
                "(or of unknown size); send a smaller image",
            )
        data = await request.read()
        try:
            path = await asyncio.get_running_loop().run_in_executor(None, self._store_upload, data, suffix)
        except UserError as exc:
            return self._refuse(400, str(exc))
        return await self._apply({"background": f"image:{path}"})

    def _store_upload(self, data: bytes, suffix: str) -> Path:
        """Keep the uploaded file for the run, once its header says it is an image of a size litecam
        decodes (whatever its type says; `UserError` otherwise). The background stage decodes it."""
        header_size(data, "background upload")
        assert self._uploads is not None, "created by start()"
        path = Path(tempfile.mkstemp(suffix=suffix, dir=self._uploads)[1])
        path.write_bytes(data)
        return path
