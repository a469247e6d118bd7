"""A throwaway ``redis-server`` for B6: random loopback port, no persistence.

The benchmark starts and stops it itself; ``command_calls`` reads ``INFO commandstats``
over a plain socket so that counting commands adds no client library of its own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ask(port: int, command: bytes, timeout: float = 2.0) -> bytes:
    """Send one inline command; return the reply (a bulk string's body, or the line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(command + b"\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n")
        if not head.startswith(b"$"):
            return head
        size = int(head[1:])
        while len(rest) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest[:size]


class RedisServer:
    """One ``redis-server`` bound to 127.0.0.1; use as a context manager."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("B6 needs redis-server on PATH (apt-get install redis-server)")
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        self._process = subprocess.Popen(
            [
                *(self.binary, "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if _ask(self.port, b"PING", timeout=0.2).startswith(b"+PONG"):
                    return self
            except OSError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.01)

    def __exit__(self, *_: object) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(timeout=10)

    def version(self) -> str:
        for line in _ask(self.port, b"INFO server").decode().splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
        return "unknown"

    def command_calls(self) -> dict[str, int]:
        """Calls per command since start, from ``INFO commandstats``; ``NAME!`` counts
        the calls that failed or were rejected (an ``EVALSHA`` answered ``NOSCRIPT``)."""
        calls: dict[str, int] = {}
        for line in _ask(self.port, b"INFO commandstats").decode().splitlines():
            if line.startswith("cmdstat_"):
                name, _, stats = line[len("cmdstat_") :].partition(":")
                fields = dict(f.split("=", 1) for f in stats.split(","))
                calls[name] = int(fields["calls"])
                bad = int(fields.get("failed_calls", 0)) + int(fields.get("rejected_calls", 0))
                calls[name + "!"] = bad
        return calls
