"""config.toml validation (pydantic schema: file, dotted key, expected type), unknown keys,
and :meth:`Config.reloaded` picking up a changed user file while keeping the old config
when the new one is invalid."""

from __future__ import annotations

from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import ConfigError
from codetap.trust import TrustStore
from tests.conftest import make_repo

MODEL = '[models.a]\nprovider = "openai"\nmodel = "m"\n'


def user_file(xdg: Path) -> Path:
    path = xdg / "config" / "codetap" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(("text", "key", "expected"), [
    ("[limits]\nmax_steps = \"ten\"\n", "limits.max_steps = 'ten'", "expected an integer"),
    ("[tools]\nbash_timeout_s = \"soon\"\n", "tools.bash_timeout_s = 'soon'", "expected a number"),
    (MODEL + "context_window = \"big\"\n", "models.a.context_window = 'big'",
     "expected an integer"),
    (MODEL + "max_retries = true\n", "models.a.max_retries = True", "expected an integer"),
    ("[tools]\nbash_timeout_s = 0\n", "tools.bash_timeout_s = 0", "expected a number > 0"),
    ("[tools]\nenv_passthrough = \"A\"\n", "tools.env_passthrough = 'A'", "expected a list"),
    ("[daemon]\nworker_priority = \"realtime\"\n", "daemon.worker_priority = 'realtime'",
     "expected one of 'idle' or 'low'"),
    ("[daemon]\nresume_interrupted = 1\n", "daemon.resume_interrupted = 1",
     "expected one of 'auto' or 'manual'"),
    ("[daemon]\nworker_cpus = []\n", "daemon.worker_cpus = []", "non-empty list of CPU"),
    ("limits = 3\n", "limits = 3", "expected a table"),
    ('[models.a]\nprovider = "gemini"\n', "models.a.provider = 'gemini'",
     "expected one of 'openai', 'anthropic' or 'replay'"),
    ('[models.a]\nmodel = "m"\n', "models.a.provider is required", "'openai'"),
])
def test_wrong_types_name_file_key_and_expected_type(xdg: Path, text: str, key: str,
                                                     expected: str) -> None:
    path = user_file(xdg)
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Config.load()
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert key in message and expected in message, message


@pytest.mark.parametrize(("text", "key"), [
    ("colour = 1\n", "colour"),
    ("[limits]\nforever = 1\n", "limits.forever"),
    (MODEL + "temperature = 0.2\n", "models.a.temperature"),
    ("[store]\npath = \"/x\"\nsize = 1\n", "store.size"),
])
def test_unknown_keys_are_named(xdg: Path, text: str, key: str) -> None:
    path = user_file(xdg)
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as info:
        Config.load()
    assert str(info.value) == f"{path}: unknown key {key}"


def test_valid_values_build_the_same_config(xdg: Path) -> None:
    user_file(xdg).write_text(
        'default_model = "a"\n' + MODEL + "context_window = 8192\ninput_price_per_mtok = 2\n"
        "[limits]\nmax_cost_usd = 3\n[daemon]\nworker_cpus = [3, 1, 3]\n"
        'resume_interrupted = "manual"\n[tools]\nbash_timeout_s = 5\nenv_passthrough = ["T"]\n'
        '[store]\npath = "~/x.db"\n')
    config = Config.load()
    model = config.model(None)
    assert (model.name, model.context_window, model.input_price_per_mtok) == ("a", 8192, 2.0)
    assert isinstance(config.limits.max_cost_usd, float) and config.limits.max_cost_usd == 3
    assert config.worker_cpus == (1, 3) and config.resume_interrupted is False
    assert config.bash_timeout_s == 5.0 and config.env_passthrough == ("T",)
    assert config.db_path == Path("~/x.db").expanduser()


def test_a_trusted_project_error_names_the_project_file(xdg: Path, tmp_path: Path) -> None:
    user_file(xdg).write_text(MODEL)
    repo = make_repo(tmp_path / "repo", {"a.py": ""})
    project = repo / ".codetap" / "config.toml"
    project.parent.mkdir()
    project.write_text("[models.a]\ncontext_window = \"big\"\n")
    TrustStore(xdg / "config" / "codetap").trust(repo)
    with pytest.raises(ConfigError) as info:
        Config.load(repo)
    assert str(info.value).startswith(f"{project}: models.a.context_window = 'big'")


def test_reload_picks_up_a_new_model(xdg: Path) -> None:
    path = user_file(xdg)
    path.write_text(MODEL)
    config = Config.load()
    assert not config.changed() and config.reloaded() is config
    with pytest.raises(ConfigError, match="unknown model 'b'"):
        config.model("b")
    path.write_text(MODEL + '[models.b]\nprovider = "anthropic"\nmodel = "c"\n')
    assert config.changed()
    fresh = config.reloaded()
    assert fresh.model("b").provider == "anthropic"
    assert fresh.reloaded() is fresh
    assert (fresh.data_dir, fresh.config_dir, fresh.runtime_dir) == \
        (config.data_dir, config.config_dir, config.runtime_dir)


def test_reload_sees_a_created_user_file_and_trust_changes(xdg: Path, tmp_path: Path) -> None:
    config = Config.load()
    assert config.models == {} and not config.changed()
    user_file(xdg).write_text(MODEL)
    assert set(config.reloaded().models) == {"a"}
    config = config.reloaded()
    repo = make_repo(tmp_path / "repo", {".codetap/config.toml": "[limits]\nmax_steps = 999\n"})
    TrustStore(config.config_dir).trust(repo)
    assert config.changed()  # trusted.json written
    assert config.reloaded().for_project(repo).limits.max_steps == 999


def test_a_bad_reload_raises_and_the_old_config_stays(xdg: Path) -> None:
    path = user_file(xdg)
    path.write_text(MODEL)
    config = Config.load()
    path.write_text(MODEL + "[limits]\nmax_steps = \"ten\"\n")
    for _ in range(2):  # reported at every task start until fixed
        with pytest.raises(ConfigError, match="limits.max_steps = 'ten'"):
            config = config.reloaded()
    assert config.model("a").model == "m" and config.limits.max_steps == 60
    path.write_text(MODEL + "[limits]\nmax_steps = 7\n")
    assert config.reloaded().limits.max_steps == 7
