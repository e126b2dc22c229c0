"""Real receivers on 127.0.0.1: an HTTP server taking Apprise json:// posts, an SMTP server.

They record exactly what arrived (body, headers, recipients) for the tests to read; the
webhook can be taken down and brought back on the same port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook:
    """POSTs received, in order: {"path", "headers", "json", "at"}."""

    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrivals = 0  # requests that have come in, answered or not yet
        self.delay = delay
        self._lock = threading.Lock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer._lock:
                    outer.arrivals += 1
                if outer.delay:
                    time.sleep(outer.delay)
                with outer._lock:
                    outer.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(body or b"{}"),
                            "at": time.clock_gettime(time.CLOCK_MONOTONIC),
                        }
                    )  # comparable across processes
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def do_GET(self) -> None:  # what arrived, for a receiver run in its own process
                with outer._lock:
                    body = json.dumps(outer.received, ensure_ascii=False).encode("utf-8")
                    if self.path == "/received?clear=1":
                        outer.received.clear()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        # A sender killed mid-request (the fault and topology tests kill them) must never hold the
        # test's teardown: request threads are daemons and stopping does not wait for them.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: connections to the port are refused until start() again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def ids(self) -> list[str]:
        return [r["headers"].get("X-Shouhu-Message-Id", "") for r in self.received]


class Mailbox:
    """An SMTP server (aiosmtpd): messages as {"to", "from", "subject", "text", "headers"}."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.content, policy=email_policy.default)
                part = msg.get_body(preferencelist=("plain", "html"))
                outer.received.append(
                    {
                        "to": list(envelope.rcpt_tos),
                        "from": envelope.mail_from,
                        "subject": str(msg["subject"]),
                        "text": part.get_content() if part else "",
                        "headers": dict(msg.items()),
                    }
                )
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?to={to}&from=shouhu@example.gov.cn"

    def stop(self) -> None:
        self._controller.stop()


if __name__ == "__main__":  # a webhook in its own process (benchmarks): prints its port, serves until killed
    hook = Webhook()
    print(hook.port, flush=True)
    threading.Event().wait()
