"""A threaded HTTP server on 127.0.0.1 with failure modes, for the downloaders' tests
(``test_download.py``, ``test_cc_filtering.py``; the ``server`` fixture is in ``conftest.py``).

It supports Range requests and can cut a body in half, answer 404/500, ignore Range, or serve
a .gz.
"""
from __future__ import annotations

from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    data: bytes
    status: int = 200  # the error status sent while failing (when not cut)
    fail_times: int = 0  # requests that fail: n > 0 the next n, -1 all of them
    cut: bool = False  # failing means sending half the body and closing the connection
    honor_range: bool = True


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: the connection closes after each response, so a cut body ends early."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        server: LocalServer = self.server  # type: ignore[assignment]
        name, range_header = self.path.lstrip("/"), self.headers.get("Range")
        server.log.append((name, range_header))
        route = server.routes.get(name)
        if route is None:
            self.send_error(404)
            return
        failing = route.fail_times != 0
        if route.fail_times > 0:
            route.fail_times -= 1
        if failing and not route.cut:
            self.send_error(route.status)
            return
        self._send_body(route, range_header, cut=failing)

    def _send_body(self, route: Route, range_header: str | None, cut: bool) -> None:
        data, start = route.data, 0
        if range_header and route.honor_range:
            start = int(range_header.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"
