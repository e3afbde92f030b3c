"""A local HTTP file server on 127.0.0.1 for download tests: Range requests, a mode that drops
the connection midway, a mode that serves corrupted bytes, and slow streaming."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    body: bytes
    redirect: str | None = None  # answer 302 with this Location instead of the body
    drop_after: int | None = None  # close the connection after this many bytes...
    drops_left: int = 0  # ...on this many requests
    corrupt: bool = False  # flip one byte in the middle of every response
    chunk_delay: float = 0.0  # seconds between 64 KiB chunks
    requests: list = field(default_factory=list)  # the Range header of each request (None if absent)


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                served = server.files.get(self.path)
                if served is None:
                    self.send_error(404)
                    return
                served.requests.append(self.headers.get("Range"))
                if served.redirect is not None:
                    self.send_response(302)
                    self.send_header("Location", served.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = bytearray(served.body)
                if served.corrupt:
                    body[len(body) // 2] ^= 0xFF
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self._stream(served, bytes(body[start:]))

            def _stream(self, served: Served, payload: bytes) -> None:
                import time

                limit = len(payload)
                if served.drops_left > 0 and served.drop_after is not None:
                    served.drops_left -= 1
                    limit = min(limit, served.drop_after)
                for i in range(0, limit, 1 << 16):
                    self.wfile.write(payload[i : min(i + (1 << 16), limit)])
                    self.wfile.flush()
                    if served.chunk_delay:
                        time.sleep(served.chunk_delay)
                if limit < len(payload):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, body: bytes, **behaviour) -> str:
        self.files[path] = Served(body, **behaviour)
        return self.base + path
