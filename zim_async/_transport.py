"""One signed POST through httpx: the only module that does network I/O.

It signs each request when it is sent (after any limiter wait), caps the answer's
size, and maps every httpx error and HTTP status to a zim_async error here, once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import anyio
import attrs
import httpx

from ._errors import ZimAuthError, ZimProtocolError, ZimTransportError
from ._signing import make_nonce, public_params
from ._wire import decode_json

__all__ = ["Reply", "Transport"]

# Errors raised before the request could have reached the server: safe to resend.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Body(httpx.AsyncByteStream):
    """A request body that is not an async generator.

    httpx's own one-chunk body is an async generator; a request cancelled while its body
    is being written leaves it suspended, and trio reports the abandoned generator as a
    ResourceWarning when the garbage collector finds it. A plain iterator has nothing to
    finalise.
    """

    __slots__ = ("_content",)

    def __init__(self, content: bytes) -> None:
        self._content = content

    def __aiter__(self) -> _Chunks:
        return _Chunks(self._content)


class _Chunks:
    __slots__ = ("_content",)

    def __init__(self, content: bytes) -> None:
        self._content: bytes | None = content

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self._content is None:
            raise StopAsyncIteration
        content, self._content = self._content, None
        return content


@attrs.frozen
class Reply:
    data: dict[str, Any]
    latency_s: float


class Transport:
    """Signs and sends one request, returns the decoded JSON object of the answer."""

    __slots__ = (
        "_app_id",
        "_clock",
        "_http",
        "_max_bytes",
        "_nonce",
        "_secret",
        "_timeout",
        "_url",
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        app_id: int,
        server_secret: str,
        timeout: float,
        max_answer_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = make_nonce,
    ) -> None:
        self._http = http
        url = httpx.URL(base_url)
        self._url = url.copy_with(path=url.path or "/")
        self._app_id = app_id
        self._secret = server_secret
        self._timeout = timeout
        self._max_bytes = max_answer_bytes
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"<Transport url={str(self._url)!r} app_id={self._app_id} timeout={self._timeout}>"

    async def post(self, action: str, body: dict[str, object]) -> Reply:
        params = public_params(
            action,
            self._app_id,
            self._secret,
            timestamp=int(self._clock()),
            nonce=self._nonce(),
        )
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        started = time.perf_counter()
        try:
            with anyio.fail_after(self._timeout):
                status, raw = await self._exchange(params, content)
        except TimeoutError as exc:
            raise ZimTransportError(
                f"{action}: no complete answer within {self._timeout} s", maybe_applied=True
            ) from exc
        except _NOT_SENT as exc:
            raise ZimTransportError(f"{action}: cannot connect: {exc!r:.200}") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ZimAuthError(f"{action}: bad base_url {str(self._url)!r}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ZimTransportError(
                f"{action}: the connection failed after sending: {exc!r:.200}", maybe_applied=True
            ) from exc
        latency = time.perf_counter() - started
        if status != 200:
            raise _status_error(action, status)
        try:
            data = decode_json(raw)
        except ZimProtocolError as exc:
            # The server answered, so it may have applied the request before garbling the
            # answer (a proxy's HTML page, a truncated body): never "failed", at most unknown.
            exc.maybe_applied = True
            raise
        return Reply(data, latency)

    async def _exchange(self, params: dict[str, str], content: bytes) -> tuple[int, bytes]:
        request = self._http.build_request(
            "POST",
            self._url,
            params=params,
            content=content,
            headers={"Content-Type": "application/json"},
        )
        request.stream = _Body(content)  # same bytes and Content-Length; see _Body
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                # Refused unread: cheaper, and stopping an httpx body iteration early
                # abandons its async generators (a ResourceWarning under trio).
                raise ZimProtocolError(
                    f"the answer exceeds {self._max_bytes} bytes ({declared} announced)",
                    maybe_applied=True,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise ZimProtocolError(
                        f"the answer exceeds {self._max_bytes} bytes", maybe_applied=True
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        return response.status_code, b"".join(chunks)


def _status_error(action: str, status: int) -> ZimTransportError | ZimAuthError:
    if status in (408, 429):
        return ZimTransportError(f"{action}: HTTP {status}", code=status)
    if status >= 500:
        return ZimTransportError(f"{action}: HTTP {status}", code=status, maybe_applied=True)
    # Any other status means a wrong URL, method or a proxy refusing us: configuration.
    return ZimAuthError(f"{action}: HTTP {status}: check base_url and proxies", code=status)
