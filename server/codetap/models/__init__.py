"""Model providers over httpx: OpenAI-compatible chat completions, Anthropic messages, replay.

Use :func:`codetap.models.registry.make_provider` to build one from a
:class:`~codetap.models.base.ModelConfig`.
"""
