"""Loopback peers that misbehave: one that accepts and never answers, a recording proxy."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self


class _Server:
    """A TCP listener on 127.0.0.1, port 0, handling each connection in a daemon thread."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.received: list[bytes] = []
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._open = self._open, []
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        self._sock.close()
        self._acceptor.join(5)
        for conn in conns:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, ex: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SilentServer(_Server):
    """Accepts every connection, reads what comes, and never answers."""

    def handle(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                self.received.append(data)
        except OSError:
            return


class RecordingProxy(_Server):
    """An HTTP proxy that records what it is sent and answers 502 (it forwards nothing)."""

    def handle(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
            self.received.append(data)
            conn.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        except OSError:
            return
        finally:
            conn.close()
