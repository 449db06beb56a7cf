"""Model traffic at the wire: record every exchange of `ChatOpenAI` with its server, and play it back.

Both are httpx transports handed to `ChatOpenAI(http_client=httpx.Client(transport=...))`, so the real
client — its request building, retries with backoff, timeouts, response parsing and usage accounting — runs
unchanged while recording and while replaying. An exchange is one HTTP attempt: a retried call is several
exchanges, and a timed-out attempt is an exchange whose outcome is the transport error.

What is written: the request's method, path and JSON body; the response's status, the few headers that
steer the client's retries (`RETRY_HEADERS`) and the whole JSON body (usage included), or the transport
error. Request headers — the `Authorization` bearer token among them — are never written, and the
transcript writer redacts secret environment values from every line.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from agent.transcript import TranscriptWriter

EXCHANGE_EVENT = "model_exchange"
# The only response headers replay needs: they decide whether and when the openai client retries.
RETRY_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-should-retry")


def _body(raw: bytes) -> dict[str, Any]:
    """`{"json": ...}` for a JSON body, else `{"text": ...}` (a streamed SSE body, an HTML error page)."""
    text = raw.decode("utf-8", errors="replace")
    try:
        return {"json": json.loads(text)}
    except json.JSONDecodeError:
        return {"text": text}


def _raw(body: dict[str, Any]) -> bytes:
    if "json" in body:
        return json.dumps(body["json"]).encode("utf-8")
    return str(body.get("text", "")).encode("utf-8")


class RecordingTransport(httpx.BaseTransport):
    """Passes each request to `inner` and writes the exchange to the transcript before returning it."""

    def __init__(self, inner: httpx.BaseTransport, transcript: TranscriptWriter) -> None:
        self.inner = inner
        self.transcript = transcript
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        recorded_request = {"method": request.method, "path": request.url.path, **_body(request.read())}
        started = time.monotonic()
        try:
            response = self.inner.handle_request(request)
            if _is_event_stream(response):  # pass the events on as they arrive; record them at the end
                return self._teed(response, request, recorded_request, started)
            content = response.read()  # decoded: the rebuilt response below carries no content-encoding
        except httpx.TransportError as exc:
            self._write(recorded_request, started, error={"type": type(exc).__name__, "message": str(exc)})
            raise
        headers = {k: v for k, v in response.headers.items() if k.lower() in RETRY_HEADERS}
        self._write(
            recorded_request,
            started,
            response={"status": response.status_code, "headers": headers, **_body(content)},
        )
        response.close()
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _FRAMING_HEADERS]
        return httpx.Response(response.status_code, headers=kept, content=content, request=request)

    def _teed(
        self, response: httpx.Response, request: httpx.Request, recorded: dict[str, Any], started: float
    ) -> httpx.Response:
        headers = {k: v for k, v in response.headers.items() if k.lower() in RETRY_HEADERS}
        status = response.status_code

        def finished(content: bytes, error: httpx.TransportError | None) -> None:
            if error is not None:
                self._write(recorded, started, error={"type": type(error).__name__, "message": str(error)})
            else:
                self._write(
                    recorded, started, response={"status": status, "headers": headers, **_body(content)}
                )

        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _FRAMING_HEADERS]
        return httpx.Response(status, headers=kept, stream=_TeeStream(response, finished), request=request)

    def _write(self, request: dict[str, Any], started: float, **outcome: Any) -> None:
        self.count += 1
        elapsed_ms = round((time.monotonic() - started) * 1000)
        self.transcript.write(
            EXCHANGE_EVENT, seq=self.count, request=request, **outcome, elapsed_ms=elapsed_ms
        )

    def close(self) -> None:
        self.inner.close()


_FRAMING_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip() == "text/event-stream"


class _TeeStream(httpx.SyncByteStream):
    """Yields a streamed body chunk by chunk and hands the whole of it to `finished` once, at its end
    (or what arrived, with the error, when the stream breaks)."""

    def __init__(self, response: httpx.Response, finished: Any) -> None:
        self.response = response
        self.finished = finished
        self.received: list[bytes] = []
        self.reported = False

    def __iter__(self) -> Any:
        try:
            for chunk in self.response.iter_bytes():
                self.received.append(chunk)
                yield chunk
        except httpx.TransportError as exc:
            self._report(exc)
            raise
        self._report(None)

    def _report(self, error: httpx.TransportError | None) -> None:
        if not self.reported:
            self.reported = True
            self.finished(b"".join(self.received), error)

    def close(self) -> None:
        self._report(None)  # a client that stops reading early: record what it read
        self.response.close()


class ReplayExhausted(RuntimeError):
    """The run made more model calls than the transcript recorded: it diverged from the recording.

    Deliberately not an httpx error, so the openai client does not retry it and the run's report names it.
    """


class ReplayTransport(httpx.BaseTransport):
    """Serves recorded exchanges in order, with no network: responses as recorded, transport errors raised.

    A recorded timeout is raised as the same httpx exception (e.g. `httpx.ReadTimeout`), so the client
    retries exactly as it did while recording. `served` counts what was used; `overrun` counts requests past
    the end, which raise `ReplayExhausted` with a message that says what happened.
    """

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.exchanges = exchanges
        self.served = 0
        self.overrun = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.served >= len(self.exchanges):
            self.overrun += 1
            raise ReplayExhausted(
                f"replay: the run asked for model call {self.served + self.overrun} but the transcript "
                f"recorded only {len(self.exchanges)} exchanges; the run diverged from the recording "
                "(see the drift report) or the transcript was cut short."
            )
        exchange = self.exchanges[self.served]
        self.served += 1
        recorded_path = str(exchange.get("request", {}).get("path", ""))
        if recorded_path and recorded_path.split("/")[-2:] != request.url.path.split("/")[-2:]:
            raise ReplayExhausted(
                f"replay: exchange {self.served} was recorded for {recorded_path}, "
                f"but the client asked for {request.url.path}."
            )
        if "error" in exchange:
            raise _transport_error(exchange["error"], request)
        response = exchange["response"]
        return httpx.Response(
            response["status"], headers=response.get("headers") or {}, content=_raw(response), request=request
        )


def _transport_error(error: dict[str, Any], request: httpx.Request) -> httpx.TransportError:
    """The recorded httpx exception (ReadTimeout, ConnectError, …), raised again for the client."""
    kind = getattr(httpx, str(error.get("type")), None)
    if not (isinstance(kind, type) and issubclass(kind, httpx.TransportError)):
        kind = httpx.TransportError
    return kind(str(error.get("message", "")), request=request)


def recorded_exchanges(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == EXCHANGE_EVENT]
