"""The generated protocol artefacts are current and agree with the server's routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from codetap.lsp.routes import ROUTES
from codetap.protocol import methods
from codetap.protocol.models import SuggestionHunk, TaskInfo, UsageInfo, dump

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "gen_protocol.py"
sys.path.insert(0, str(SCRIPT.parent))

import gen_protocol
from protocol_render import METHODS


def test_check_passes_on_the_committed_tree() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_check_reports_a_stale_file_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {tmp_path / p.relative_to(ROOT): text for p, text in gen_protocol.generate().items()}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert gen_protocol.check(files, tmp_path) == 0
    ts = tmp_path / "clients/vscode/src/generated/protocol.ts"
    ts.write_text(ts.read_text().replace('"codetap/task/start"', '"codetap/task/begin"'))
    (tmp_path / "protocol/methods.md").unlink()
    assert gen_protocol.check(files, tmp_path) == 1
    out = capsys.readouterr()
    assert '-export const TASK_START = "codetap/task/begin" as const;' in out.out
    assert '+export const TASK_START = "codetap/task/start" as const;' in out.out
    assert "b/protocol/methods.md (generated)" in out.out
    assert "2 generated protocol file(s) are stale" in out.err


def test_method_table_matches_server_routes() -> None:
    table = {m.name: m for m in METHODS}
    for method, (params, _handler) in ROUTES.items():
        assert table[method].params is params, method
        assert table[method].direction == "client->server"
    names = {v for k, v in vars(methods).items() if k.isupper() and isinstance(v, str)}
    assert set(table) == names - {methods.CMD_REJECT}


def _schema() -> dict[str, Any]:
    return json.loads((ROOT / "protocol/codetap.schema.json").read_text())


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = _schema()
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def test_schema_accepts_what_the_server_sends() -> None:
    info = TaskInfo(id="7", intent="x", state="ready", root_uri="file:///r", branch="b",
                    base_commit="c", steps=2, usage=UsageInfo(input_tokens=3),
                    created_at="t", updated_at="t")
    _validator("TaskInfo").validate(dump(info))
    missing = dump(info)
    del missing["usage"]
    with pytest.raises(jsonschema.ValidationError, match="'usage' is a required property"):
        _validator("TaskInfo").validate(missing)
    hunk = dump(SuggestionHunk.model_validate({
        "hunk_id": "h", "old_text": "a", "new_text": "b",
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}}))
    _validator("SuggestionHunk").validate(hunk)


def test_schema_rejects_bad_client_params() -> None:
    v = _validator("TaskStartParams")
    v.validate({"intent": "fix", "root_uri": "file:///r"})
    with pytest.raises(jsonschema.ValidationError):
        v.validate({"intent": "", "root_uri": "file:///r"})
    with pytest.raises(jsonschema.ValidationError):
        _validator("TaskRollbackParams").validate({"id": "1", "step": -1})


def test_generated_clients_carry_every_method_name() -> None:
    ts = (ROOT / "clients/vscode/src/generated/protocol.ts").read_text()
    lua = (ROOT / "clients/nvim/lua/codetap/protocol.lua").read_text()
    for key, value in vars(methods).items():
        if key.isupper() and isinstance(value, str):
            assert f"export const {key} = {json.dumps(value)} as const;" in ts
            assert f"  {key} = {json.dumps(value)}," in lua
    for method in methods.REQUESTS:
        assert f'[{json.dumps(method)}] = "{methods.command_name(method)}",' in lua
