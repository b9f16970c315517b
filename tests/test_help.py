"""--help of every console script: each option has help, and a default is printed once, never "None"."""

import argparse
import importlib
import re

import pytest

from conftest import REPO

ENTRY_POINTS = dict(re.findall(r'"(pisvm-[\w-]+) = ([\w.]+):main"', (REPO / "setup.py").read_text()))


def _parsers(parser, name):
    """(name, parser) for ``parser`` and every sub-command under it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {command}")


def _all_parsers():
    for prog, module in sorted(ENTRY_POINTS.items()):
        yield from _parsers(importlib.import_module(module).build_parser(), prog)


def test_entry_points_are_found():
    assert {"pisvm-grid", "pisvm-data", "pisvm-jobs", "pisvm-cnn", "pisvm-compare"} <= set(ENTRY_POINTS)


@pytest.mark.parametrize("name, parser", list(_all_parsers()),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_help_shows_each_default_once_and_every_option_has_help(name, parser):
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        option = "/".join(action.option_strings) or action.dest
        assert action.help, f"{name} {option}: no help"
        text = formatter._expand_help(action)
        assert "(default: None)" not in text, f"{name} {option}: {text}"
        assert action.nargs != 0 or text == action.help, f"{name} {option}: a flag's default: {text}"
        assert text.count("(default") <= 1 and text.count("default:") <= 1, f"{name} {option}: default twice: {text}"
    assert "(default: None)" not in parser.format_help()


@pytest.mark.parametrize("prog", sorted(ENTRY_POINTS))
def test_help_exits_0(prog, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(ENTRY_POINTS[prog]).main(["--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {prog}")


def test_zero_defaults_are_shown_and_flags_are_not():
    from pisvm.cli.common import OneLineParser

    parser = OneLineParser(prog="p")
    parser.add_argument("--seed", type=int, default=0, help="seed")
    parser.add_argument("--rate", type=float, default=0.0, help="rate")
    parser.add_argument("--quiet", action="store_true", help="quiet")
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="no plot")
    parser.add_argument("--out", required=True, help="folder")
    text = " ".join(parser.format_help().split())
    assert "seed (default: 0)" in text and "rate (default: 0.0)" in text
    assert "quiet (default" not in text and "folder (default" not in text and "plot (default" not in text
