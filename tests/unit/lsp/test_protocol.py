"""Wire models and parameter validation of the custom methods."""

from __future__ import annotations

import pytest
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import JsonRPCRequestMessage

from codetap.lsp.converter import codetap_converter
from codetap.lsp.routes import ROUTES, validate
from codetap.protocol import methods
from codetap.protocol.models import TaskIdParams, TaskStartParams, dump


def test_every_request_has_a_route_and_a_command() -> None:
    assert set(ROUTES) == set(methods.REQUESTS)
    assert methods.COMMANDS["codetap.task.start"] == methods.TASK_START
    assert methods.command_name(methods.ANSWER) == "codetap.answer"


def test_validation_errors_name_fields() -> None:
    with pytest.raises(JsonRpcInvalidParams) as exc:
        validate(methods.TASK_START, TaskStartParams, {"intent": "", "scope": {"uri": "x"}})
    msg = str(exc.value)
    assert "intent: String should have at least 1 character" in msg
    assert "root_uri: Field required" in msg and "scope.range: Field required" in msg
    with pytest.raises(JsonRpcInvalidParams, match="valid dictionary"):
        validate(methods.TASK_GET, TaskIdParams, [1])


def test_ids_accept_numbers_and_dump_omits_none() -> None:
    p = validate(methods.TASK_GET, TaskIdParams, {"id": 7, "extra": True})
    assert p == TaskIdParams(id="7")
    assert dump(TaskStartParams(intent="i", root_uri="file:///r")) == {
        "intent": "i", "root_uri": "file:///r"}


def test_converter_keeps_custom_params_as_json() -> None:
    conv = codetap_converter()
    msg = conv.structure({"jsonrpc": "2.0", "id": 1, "method": "codetap/task/get",
                          "params": {"id": "1", "weird-key": {"a": 1}}}, JsonRPCRequestMessage)
    assert msg.params == {"id": "1", "weird-key": {"a": 1}}
