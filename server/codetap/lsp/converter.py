"""A cattrs converter for pygls that leaves custom-method params and results as JSON.

pygls's default converter turns the params of methods lsprotocol does not know (all
``codetap/*`` methods) into namedtuples, renaming keys that are not identifiers. codetap
validates those params with pydantic (:mod:`codetap.protocol.models`) instead, so they
must arrive as the plain decoded JSON (dicts, lists, scalars).
"""

from __future__ import annotations

from typing import Any

import cattrs
from lsprotocol import converters
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage


def _as_is(obj: dict[str, Any], cls: type[Any]) -> Any:
    return cls(**obj)


def codetap_converter() -> cattrs.Converter:
    """lsprotocol's converter, with generic JSON-RPC messages structured without changes."""
    converter = converters.get_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        converter.register_structure_hook(cls, _as_is)
    return converter
