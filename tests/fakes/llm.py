"""A loopback fake of an OpenAI-compatible chat endpoint: POST /v1/chat/completions.

It answers like OpenAI and the local servers that copy it (llama.cpp, Ollama, vLLM): Bearer auth
(a wrong key gets 401 with the key echoed in the message, as OpenAI does, so tests can check that
it never reaches our errors), a JSON body with `model` and `messages`, and a `chat.completion`
object back. Scripted faults, one per request in order: an HTTP status, a slow answer, a
malformed body, an over-long answer, or an answer cut at the token limit.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.fakes._http import LoopbackService, Reply, RequestHandler

PATH = "/v1/chat/completions"
FaultKind = Literal["status", "slow", "malformed", "long", "cut"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 500
    delay: float = 0.0  # "slow": seconds before the (otherwise normal) answer
    body: bytes = b'{"choices": [{"message": '  # "malformed"
    length: int = 2000  # "long": characters in the answer


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it: lower-cased header names, the parsed JSON body."""

    path: str
    headers: dict[str, str]
    json: Any


class FakeLLM(LoopbackService):
    """Serves `answer` to every well-formed, authorised request unless a fault is scripted."""

    _label = "FakeLLM"

    def __init__(
        self,
        *,
        api_key: str = "sk-test-secret-key",
        answer: str = "A short summary of the post.",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.answer = answer
        self.clock = clock
        # Set while stopping so a scripted slow answer ends at once instead of outliving a test.
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._received: list[Received] = []

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    @property
    def base_url(self) -> str:
        """The URL a client is configured with: it appends /chat/completions."""
        return super().base_url + "/v1"

    def fail_next(self, kind: FaultKind, **details: Any) -> None:
        """Script a fault for the next request not yet faulted (faults queue up in order)."""
        with self._lock:
            self._faults.append(Fault(kind, **details))

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def reply_to(self, path: str, headers: dict[str, str], body: bytes) -> tuple[Reply, float]:
        """The reply and how long to wait before sending it."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        with self._lock:
            self._received.append(Received(path, headers, payload))
        if path != PATH:
            return _error(404, f"Unknown request URL: POST {path}"), 0.0
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            presented = headers.get("authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {presented}"), 0.0
        if not isinstance(payload, dict) or not payload.get("messages"):
            return _error(400, "'messages' is a required property"), 0.0
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        return self._answer(payload, fault)

    def _answer(self, payload: dict[str, Any], fault: Fault | None) -> tuple[Reply, float]:
        if fault is None:
            return _completion(payload, self.answer), 0.0
        if fault.kind == "status":
            return _error(
                fault.status, "The server had an error while processing your request"
            ), 0.0
        if fault.kind == "malformed":
            return Reply(200, fault.body, {"Content-Type": "application/json"}), 0.0
        if fault.kind == "long":
            return _completion(payload, "word " * (fault.length // 5)), 0.0
        if fault.kind == "cut":
            return _completion(payload, self.answer, finish_reason="length"), 0.0
        return _completion(payload, self.answer), fault.delay  # slow


class _Handler(RequestHandler[FakeLLM]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        app = self.server.app
        reply, delay = app.reply_to(self.path, headers, body)
        if delay and app.stopping.wait(delay):
            self.close_connection = True
            return
        self.send_reply(reply)


def _completion(payload: dict[str, Any], content: str, finish_reason: str = "stop") -> Reply:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": payload.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _error(status: int, message: str) -> Reply:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
