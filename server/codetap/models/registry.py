"""Building a provider from a model's configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codetap.errors import ConfigError
from codetap.models.base import ModelConfig, ModelProvider

if TYPE_CHECKING:
    import httpx

    from codetap.models.retry import Backoff

PROVIDERS = ("openai", "anthropic", "replay")


def make_provider(
    config: ModelConfig,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    backoff: Backoff | None = None,
) -> ModelProvider:
    """The provider for ``config.provider`` (``openai`` | ``anthropic`` | ``replay``).

    ``transport`` replaces httpx's network transport of the provider's shared
    ``httpx.AsyncClient``; ``backoff`` overrides retry waits (seconds). Both are ignored
    by ``replay``. Raises ConfigError for an unknown provider, an HTTP provider without
    ``model``, or an unusable replay file. Call ``aclose()`` when done.
    """
    # Providers are imported on demand: httpx costs ~0.1 s at start-up, which an offline
    # replay run (and a daemon resuming its tasks) need not pay.
    if config.provider == "replay":
        from codetap.models.replay import ReplayProvider
        return ReplayProvider(config)
    if config.provider not in PROVIDERS:
        raise ConfigError(
            f"model {config.name!r}: unknown provider {config.provider!r}; "
            f"use one of: {', '.join(PROVIDERS)}"
        )
    if not config.model:
        raise ConfigError(f"model {config.name!r}: set model = \"<model id>\" for {config.provider}")
    if config.base_url is not None and not config.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"model {config.name!r}: base_url must start with http:// or https://, "
            f"got {config.base_url!r}"
        )
    if config.provider == "openai":
        from codetap.models.openai import OpenAIProvider
        return OpenAIProvider(config, transport=transport, backoff=backoff)
    from codetap.models.anthropic import AnthropicProvider
    return AnthropicProvider(config, transport=transport, backoff=backoff)
