"""Shared machinery of the HTTP providers: client, API key, retry of the response start,
SSE decoding, and turning a broken stream into ModelStreamError.

A subclass builds the ``httpx.Request`` for a :class:`~codetap.types.ModelRequest` and parses
the streamed response into :data:`~codetap.types.StreamEvent` objects. :meth:`stream`
retries (see :mod:`codetap.models.retry`) until the first event is parsed; after that,
transport failures become ModelStreamError.
"""

from __future__ import annotations

import abc
import json
import os
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from codetap.errors import ConfigError, ModelError, ModelStreamError
from codetap.models.base import ModelConfig, ModelProvider
from codetap.models.retry import Backoff, RetryableError, excerpt, raise_for_status, retry_call
from codetap.types import JSON, ModelRequest, StreamEvent


class HTTPProvider(ModelProvider):
    """Base of providers that stream over HTTP with one shared ``httpx.AsyncClient``.

    ``transport`` replaces httpx's network transport (httpx style); ``backoff`` sets retry
    waits (``config.max_retries`` bounds their number). ``config.timeout_s`` bounds
    connecting and each read/write, in seconds. Raises ConfigError for a malformed base_url.
    """

    default_base_url: ClassVar[str]
    default_api_key_env: ClassVar[str]

    def __init__(
        self, config: ModelConfig, *, transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(config)
        self.backoff = backoff or Backoff()
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        try:
            httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"model {config.name!r}: invalid base_url: {exc}") from exc
        self._client = httpx.AsyncClient(transport=transport, timeout=config.timeout_s)

    @property
    def api_key_env(self) -> str | None:
        """Environment variable holding the key: ``config.api_key_env``, else the provider's
        conventional variable when talking to its default endpoint, else None."""
        if self.config.api_key_env:
            return self.config.api_key_env
        return self.default_api_key_env if self.base_url == self.default_base_url else None

    def api_key(self) -> str | None:
        """The API key from the environment (read per call), or None if unset/empty."""
        env = self.api_key_env
        return (os.environ.get(env) or None) if env else None

    def missing_key_hint(self) -> str:
        """Text added to 401/403 errors when no key was sent."""
        if self.api_key() is not None:
            return ""
        env = self.api_key_env
        return f"no API key sent: environment variable {env} is not set" if env else (
            "no API key sent: set api_key_env in the model's config"
        )

    def post(self, path: str, body: JSON, headers: dict[str, str]) -> httpx.Request:
        """A POST of ``body`` as JSON to ``base_url + path`` asking for an event stream."""
        return self._client.build_request(
            "POST", self.base_url + path, json=body,
            headers={"accept": "text/event-stream", **headers},
        )

    @abc.abstractmethod
    def build_request(self, request: ModelRequest) -> httpx.Request:
        """The HTTP request for ``request`` (built once, sent once per attempt)."""

    @abc.abstractmethod
    def parse(self, response: httpx.Response, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Events of a 2xx streamed response, ending with one ``Finished``.

        Raises ModelStreamError for malformed or incomplete streams, RetryableError for
        transient in-stream errors; lets httpx errors propagate.
        """

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream one response (see :meth:`ModelProvider.stream`).

        Raises ModelHTTPError, ModelRetriesExhausted, ModelStreamError, or ModelError for
        an unusable endpoint (e.g. a malformed base_url).
        """
        http_request = self.build_request(request)

        async def start() -> tuple[httpx.Response, AsyncIterator[StreamEvent], StreamEvent]:
            response = await self._client.send(http_request, stream=True)
            events = self.parse(response, request)
            try:
                await raise_for_status(response, hint=self.missing_key_hint())
                first = await anext(events, None)
                if first is None:
                    raise ModelStreamError("model stream ended without any event")
            except BaseException:
                await _close(events, response)
                raise
            return response, events, first

        try:
            response, events, first = await retry_call(
                start, max_retries=self.config.max_retries, backoff=self.backoff,
                what=f"model {self.config.name!r} call to {http_request.url}",
            )
        except httpx.HTTPError as exc:
            raise ModelError(f"cannot call model API at {http_request.url}: {exc!r}") from exc
        try:
            yield first
            while True:
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    return
                except (RetryableError, httpx.HTTPError) as exc:
                    raise ModelStreamError(
                        f"model stream broke after partial output: {exc!r}"
                    ) from exc
                yield event
        finally:
            await _close(events, response)

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._client.aclose()


async def _close(events: AsyncIterator[StreamEvent], response: httpx.Response) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
    await response.aclose()


async def sse_events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events of ``response`` (httpx-sse); ModelStreamError if not an SSE stream."""
    source = EventSource(response)
    try:
        async for event in source.aiter_sse():
            yield event
    except SSEError as exc:
        raise ModelStreamError(f"model API did not answer with an event stream: {exc}") from exc


def decode_json(data: str, what: str) -> dict[str, Any]:
    """Decode one event's JSON object; ModelStreamError (with an excerpt) if it is not one."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ModelStreamError(f"malformed JSON in {what}: {exc}: {excerpt(data, 200)!r}") from exc
    if not isinstance(value, dict):
        raise ModelStreamError(f"{what} is not a JSON object: {excerpt(data, 200)!r}")
    return value


def decode_arguments(raw: str, name: str) -> JSON:
    """Tool-call arguments from their JSON text (empty text is ``{}``).

    Raises ModelStreamError if the text is not a JSON object.
    """
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelStreamError(
            f"tool call {name!r} has invalid JSON arguments: {exc}: {excerpt(raw, 200)!r}"
        ) from exc
    if not isinstance(value, dict):
        raise ModelStreamError(f"tool call {name!r} arguments are not a JSON object: {raw[:200]!r}")
    return value
