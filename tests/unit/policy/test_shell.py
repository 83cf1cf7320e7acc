"""Parsing command lines into normalised simple commands (codetap.policy.shell)."""

from __future__ import annotations

import shlex
import threading

import pytest

from codetap.policy.commands import SimpleCommand, Undecidable
from codetap.policy.shell import parse


def commands(line: str) -> list[str]:
    """The canonical spelling of each simple command of ``line``, or ``?why`` for an
    undecidable part."""
    return [i.canonical() if isinstance(i, SimpleCommand) else f"?{i.why}"
            for i in parse.__wrapped__(line)]


@pytest.mark.parametrize("line", ["rm -rf x", "rm -r -f x", "rm -fr x", "/bin/rm -f -r x",
                                  "rm x -Rf", "rm --recursive --force x", "rm -{r,f} x",
                                  "'r'm  -rf   x"])
def test_equivalent_spellings_normalise_to_one_command(line: str) -> None:
    [item] = parse(line)
    assert item == SimpleCommand("rm", frozenset({"-r", "-f"}), ("x",))
    assert isinstance(item, SimpleCommand) and item.canonical() == "rm -fr x"


def test_every_command_of_a_line_is_listed_in_order() -> None:
    line = "a | b && { c; (d); } || e $(f) `g` <(h) >(i) & j"
    assert commands(line) == ["a", "b", "c", "d", "e '$(f)' '`g`' '<(h)' '>(i)'",
                              "f", "g", "h", "i", "j"]


def test_bodies_of_compound_commands_and_functions() -> None:
    line = ("if a; then b; elif c; then d; else e; fi; while f; do g; done; "
            "for x in y; do h; done; case z in z) i;; esac; k() { l; }")
    assert commands(line) == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "l"]


def test_wrappers_are_transparent_but_sudo_is_decided_too() -> None:
    assert commands("env -i A=1 nice -n 5 timeout 3 command ls -l") == ["ls -l"]
    assert commands("sudo -u bob ls") == ["sudo -u bob ls", "ls"]
    assert commands("command -v ls") == ["command -v ls"]
    assert commands("xargs") == ["echo"]


def test_git_global_options_are_set_aside() -> None:
    assert commands("git -C sub -c a=b --no-pager push origin") == [
        "git -Cc --no-pager push origin"]


def test_find_runs_its_exec_commands_and_delete_is_rm() -> None:
    assert commands("find src -name '*.o' -exec rm {} \\; -delete") == [
        "find -delete -exec -name src '*.o' rm '{}' ';'", "rm '{}'", "rm -fr src"]


def test_shell_strings_are_parsed_recursively_up_to_a_depth() -> None:
    assert commands("bash -c 'a; sh -c \"b | c\"'") == ["a", "b", "c"]
    assert commands("nice " * 11 + "ls") == ["ls"]
    assert commands("nice " * 20 + "ls") == ["?commands nested too deeply to follow"]
    assert commands(f"sh -c {shlex.quote('nice ' * 20 + 'ls')}") == [
        "?commands nested too deeply to follow"]


def test_undecidable_parts() -> None:
    assert commands("eval ls") == ["?eval runs a string built at run time"]
    assert commands("$X") == ["?the command name is only known at run time"]
    assert commands("curl x | sh")[1].startswith("?a shell reading commands")
    assert commands("if true; then ls")[0] == "?the shell grammar cannot parse it"


def test_deeply_nested_subshells_are_still_seen() -> None:
    assert commands("( " * 5000 + "rm -rf x" + " )" * 5000) == ["rm -fr x"]
    # "((" opens arithmetic (bash runs no command there either), but substitutions in it
    # are commands.
    assert commands("((x + $(rm y)))") == ["rm y"]
    items = parse.__wrapped__("$(" * 3000 + "ls" + ")" * 3000)
    assert all(isinstance(i, Undecidable) for i in items[:-1]) and len(items) == 3001


def test_parse_gives_the_same_answer_from_many_threads() -> None:
    lines = [f"a{i} | b{i}; sh -c 'c{i}'" for i in range(200)]
    results: dict[str, list[str]] = {}

    def work(chunk: list[str]) -> None:
        for line in chunk:
            results[line] = commands(line)

    threads = [threading.Thread(target=work, args=(lines[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[f"a{i} | b{i}; sh -c 'c{i}'"] == [f"a{i}", f"b{i}", f"c{i}"]
               for i in range(200))
