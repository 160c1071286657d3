"""The optional model-written summary: an OpenAI-compatible chat endpoint (a local model server
or a hosted one), asked for one or two plain sentences.

Every way it can go wrong (HTTP error, timeout, refused connection, malformed or cut answer, an
answer over the budget) raises `LLMError`, and the caller falls back to the extractive summary.
Error messages name the endpoint and the status, never the API key: they are logged and stored
in the audit log.
"""

from __future__ import annotations

import json
import time
from typing import Any

import regex
import requests

from syndicate.errors import SummaryError

# The post's text is cut to this before it is sent: enough for the point of any blog post, and
# small enough for the context window of a small local model.
MAX_INPUT_CHARS = 12_000
_MAX_RESPONSE_BYTES = 1_000_000
_CHUNK_BYTES = 16_384
_SYSTEM_PROMPT = (
    "You write the text of a social media post that introduces a blog post. Answer with one "
    "or two plain sentences of at most {max_chars} characters in total, in the language of "
    "the post, saying what the post is about and why it matters. No hashtags, links, emoji, "
    "markdown, quotation marks around the answer, or preamble."
)
# Reasoning models may prefix their answer with their reasoning.
_THINKING = regex.compile(r"^\s*<think>.*?</think>", regex.DOTALL | regex.IGNORECASE)
_LABEL = regex.compile(r"^(?:summary|post|answer)\s*:\s*", regex.IGNORECASE)
_MARKUP = regex.compile(r"<[A-Za-z/!][^>]*>")
_QUOTES = ('"', "'", "“", "‘", "«")
_CLOSING = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}
_SPACES = regex.compile(r"\s+")


class LLMError(SummaryError):
    """The model endpoint failed or gave an unusable answer: use the extractive summary."""


class LLMSummariser:
    """A client of one OpenAI-compatible endpoint (`base_url` ends before /chat/completions)."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"LLMSummariser(url={self.url!r}, model={self.model!r})"

    def abstract(self, title: str, text: str, max_chars: int) -> str:
        """One or two sentences summarising the post, at most `max_chars` characters."""
        payload = self._payload(title, text, max_chars)
        try:
            answer = _answer(self._post(payload))
        except LLMError as e:
            # An error body may echo the key ("Incorrect API key provided: sk-…"); keep the
            # cause (a requests error, which never holds headers) but not the unredacted text.
            raise LLMError(self._redact(str(e))) from e.__cause__
        return _checked(answer, max_chars)

    def _payload(self, title: str, text: str, max_chars: int) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT.format(max_chars=max_chars)},
                {"role": "user", "content": f"Title: {title}\n\n{_shortened(text)}"},
            ],
            "temperature": 0,
            # Room for the answer in any language (a token is rarely under two characters), not
            # for an essay: a runaway answer is cut and refused rather than paid for.
            "max_tokens": max_chars // 2 + 64,
            "stream": False,
        }

    def _post(self, payload: dict[str, Any]) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        deadline = time.monotonic() + self.timeout
        try:
            with requests.post(
                self.url,
                json=payload,
                headers=headers,
                timeout=(self.timeout, self.timeout),
                stream=True,
                allow_redirects=False,  # a redirect would carry the key to another address
            ) as response:
                if response.status_code != 200:
                    status = f"{self.url} answered HTTP {response.status_code}"
                    raise LLMError(status + _why(response))
                return _read(response, deadline, self.url, self.timeout)
        except requests.Timeout as e:
            raise LLMError(f"{self.url} did not answer within {self.timeout:g} s") from e
        except requests.RequestException as e:
            raise LLMError(f"{self.url} could not be reached ({type(e).__name__})") from e

    def _redact(self, message: str) -> str:
        return message.replace(self._api_key, "***") if self._api_key else message


def _shortened(text: str) -> str:
    """The text cut to MAX_INPUT_CHARS at a paragraph, else a word, boundary."""
    if len(text) <= MAX_INPUT_CHARS:
        return text
    cut = text[:MAX_INPUT_CHARS]
    boundary = cut.rfind("\n\n")
    if boundary < MAX_INPUT_CHARS // 2:
        boundary = cut.rfind(" ")
    return cut[: boundary if boundary > 0 else MAX_INPUT_CHARS].rstrip()


def _read(response: requests.Response, deadline: float, url: str, timeout: float) -> bytes:
    """The whole body, within the overall deadline and size cap.

    requests' read timeout bounds each read, not the total: a server dribbling bytes would
    otherwise hold the worker for ever."""
    body = bytearray()
    for chunk in response.iter_content(_CHUNK_BYTES):
        body.extend(chunk)
        if len(body) > _MAX_RESPONSE_BYTES:
            raise LLMError(f"{url} sent more than {_MAX_RESPONSE_BYTES} bytes")
        if time.monotonic() > deadline:
            raise LLMError(f"{url} did not answer within {timeout:g} s")
    return bytes(body)


def _why(response: requests.Response) -> str:
    """The error message of an OpenAI-style error body, shortened, or nothing."""
    try:
        data = json.loads(response.raw.read(4096, decode_content=True) or b"null")
        message = data["error"]["message"] if isinstance(data["error"], dict) else data["error"]
    except (ValueError, TypeError, KeyError, requests.RequestException, OSError):
        return ""
    return f": {_SPACES.sub(' ', str(message))[:200]}"


def _answer(body: bytes) -> str:
    """The message content of the first choice, refused when the answer was cut short."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise LLMError(f"malformed answer: no choices[0].message.content ({e!r:.80})") from None
    if not isinstance(content, str):
        raise LLMError("malformed answer: the message content is not text")
    if choice.get("finish_reason") == "length":
        raise LLMError("the answer was cut off at the token limit")
    return content


def _checked(answer: str, max_chars: int) -> str:
    """The answer as plain text, refused if empty, marked up or over the budget."""
    text = _LABEL.sub("", _SPACES.sub(" ", _THINKING.sub("", answer)).strip())
    text = _unquoted(text)
    if not text:
        raise LLMError("the answer is empty")
    if _MARKUP.search(text):
        raise LLMError("the answer contains markup")
    if len(text) > max_chars:
        raise LLMError(f"the answer has {len(text)} characters, over the budget of {max_chars}")
    return text


def _unquoted(text: str) -> str:
    """The text without quotation marks wrapped around all of it."""
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _CLOSING[text[0]]:
        inner = text[1:-1]
        if text[0] not in inner and _CLOSING[text[0]] not in inner:
            return inner.strip()
    return text
