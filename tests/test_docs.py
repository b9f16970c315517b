"""The docs agree with argparse: generated option tables are current, every command has a page,
and every command line and ``--option`` written in README.md and docs/ exists."""

import argparse
import ast
import importlib
import importlib.util
import re
import shlex

import pytest

from conftest import REPO
from pisvm.transport import CollectiveError

_SPEC = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
generate = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(generate)

ENTRY_POINTS = generate.entry_points()
DOCS = [REPO / "README.md"] + sorted((REPO / "docs").rglob("*.md"))


def _all_options(with_help=True):
    """``{script: set of option strings}`` over the script and its sub-commands."""
    options = {}
    for script, module in ENTRY_POINTS.items():
        found = options.setdefault(script, set())
        for _, parser, _ in generate.parsers(importlib.import_module(module).build_parser(), script):
            for action in parser._actions:
                if with_help or not isinstance(action, argparse._HelpAction):
                    found.update(action.option_strings)
    return options


def _benchmark_options():
    """``{benchmarks/NAME.py: set of options}`` read from each benchmark's add_argument calls."""
    return {f"benchmarks/{path.name}": set(re.findall(r'add_argument\(\s*"(--[\w-]+)"', path.read_text()))
            for path in sorted((REPO / "benchmarks").glob("*.py"))}


def _code_lines(path):
    """Command lines of the hand-written fenced code blocks of a Markdown file.

    The generated usage lines are left out, continuations joined and comments dropped; in a block
    with ``$ `` prompts only the prompted lines count (the others are output).
    """
    text = path.read_text(encoding="utf-8")
    if generate.BEGIN in text:
        text = text.split(generate.BEGIN, 1)[0] + text.split(generate.END, 1)[1]
    lines, blocks, block, pending = [], [], None, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if block is None:
                block = []
            else:
                blocks.append(block)
                block = None
            continue
        if block is None:
            continue
        line = pending + line.split(" #")[0].rstrip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        block.append(line.strip())
    for block in blocks:
        prompted = [line[2:] for line in block if line.startswith("$ ")]
        lines += prompted or block
    return lines


def _command(line):
    """``(script, argv)`` of a shell line that runs a console script (after ``&&``, mpirun, ``$``), or None."""
    for part in line.split("&&"):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        while words and (re.fullmatch(r"[A-Z_]+=\S*", words[0]) or words[0] in ("time",)):
            words = words[1:]
        if words[:1] in (["mpirun"], ["mpiexec"], ["srun"]):
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in ("-n", "-np", "-x") else words[1:]
        if words and words[0] in ENTRY_POINTS and not any(word.endswith(":") for word in words[1:3]):
            return words[0], words[1:]  # (a benchmark's output line reads "pisvm-grid 2 ranks: ...")
    return None


def test_every_console_script_has_a_page():
    pages = {path.stem for path in (REPO / "docs" / "commands").glob("*.md")}
    assert set(ENTRY_POINTS) <= pages, f"no page for {sorted(set(ENTRY_POINTS) - pages)}"
    assert pages <= set(ENTRY_POINTS), f"pages of no console script: {sorted(pages - set(ENTRY_POINTS))}"


@pytest.mark.parametrize("script", sorted(ENTRY_POINTS))
def test_generated_options_are_current(script):
    path = REPO / "docs" / "commands" / f"{script}.md"
    assert path.exists(), f"{path} is missing: run python docs/generate.py"
    expected = generate.page_text(path, script, ENTRY_POINTS[script])
    # Compared word by word: another Python's argparse may wrap the usage lines elsewhere.
    assert path.read_text(encoding="utf-8").split() == expected.split(), \
        f"{path.relative_to(REPO)} is out of date with argparse: run python docs/generate.py"


def test_generated_table_lists_every_option():
    """An independent check of the generator: every option string of every parser is in its page."""
    for script, options in _all_options(with_help=False).items():
        text = (REPO / "docs" / "commands" / f"{script}.md").read_text(encoding="utf-8")
        generated = text.split(generate.BEGIN, 1)[1].split(generate.END, 1)[0]
        missing = sorted(option for option in options if f"`{option}`" not in generated)
        assert not missing, f"{script}: options missing from the page: {missing}"


def test_a_stale_or_missing_option_is_caught_and_prose_is_kept(tmp_path):
    """The check above fails for a renamed or a dropped option; regenerating restores the table, not the prose."""
    path = tmp_path / "pisvm-split.md"
    current = generate.page_text(path, "pisvm-split", ENTRY_POINTS["pisvm-split"])
    prose = current.replace("## Options", "Hand-written prose.\n\n## Options") + "\nMore prose.\n"
    expected = prose
    for stale in (prose.replace("| `--no-plot` |", "| `--no-plots` |"),
                  "\n".join(line for line in prose.splitlines() if "`--epsilon`" not in line) + "\n"):
        assert stale.split() != expected.split()
        path.write_text(stale, encoding="utf-8")
        assert generate.page_text(path, "pisvm-split", ENTRY_POINTS["pisvm-split"]) == expected


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(REPO)))
def test_command_lines_parse(path):
    """Each command line in a code block is accepted by the script's own parser (options, choices, counts)."""
    checked = 0
    for line in _code_lines(path):
        found = _command(line)
        if found is None:
            continue
        script, argv = found
        if "--help" in argv or ("-h" in argv and script != "pisvm-train"):
            continue
        parser = importlib.import_module(ENTRY_POINTS[script]).build_parser()
        try:
            parser.parse_args(argv)
        except (CollectiveError, SystemExit) as error:
            pytest.fail(f"{path.relative_to(REPO)}: {line!r} does not parse: {error}")
        checked += 1
    if path == REPO / "README.md" or path.parent.name == "commands":
        assert checked, f"{path.relative_to(REPO)}: no command line found"


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_option_named_exists(path):
    """Every ``--option`` written in the text belongs to a console script or to a benchmark script."""
    known = set().union(*_all_options().values(), *_benchmark_options().values())
    known |= {"--oversubscribe", "--no-binary", "--check"}  # mpirun, pip, docs/generate.py
    text = path.read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", text))
    unknown = sorted(named - known)
    assert not unknown, f"{path.relative_to(REPO)} names options no parser has: {unknown}"


def test_readme_keeps_the_ci_command():
    """The README's Tests section shows the command line that .ci/run runs, word for word."""
    ci = [line for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if "python -m pytest -q" in line and not line.startswith("#")]
    assert len(ci) == 1, ".ci/run should run python -m pytest -q on one line"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tests = readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    assert ci[0].strip() in tests.splitlines()


def _anchors(path):
    """GitHub's anchors of a Markdown file's headings (lower case, punctuation dropped, spaces to hyphens)."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_links_resolve():
    """Every relative link of README.md and docs/ points at a file that exists, and at a heading of it."""
    for path in DOCS:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", path.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            linked = path.parent / target if target else path
            assert linked.exists(), f"{path.relative_to(REPO)}: broken link {target}"
            if anchor:
                assert anchor in _anchors(linked), f"{path.relative_to(REPO)}: no heading #{anchor} in {target}"


# Who may import whom, as drawn in docs/design.md ("Packages and their dependencies").
DESIGN_IMPORTS = {"pisvm": set(), "features": {"pisvm"}, "cnn": {"pisvm"}, "studies": {"pisvm"},
                  "compare": {"pisvm", "features", "cnn"}}


def test_package_dependencies_are_those_of_design_md():
    for package, allowed in DESIGN_IMPORTS.items():
        found = set()
        for source in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
        used = (found & set(DESIGN_IMPORTS)) - {package}
        assert used <= allowed, f"{package} imports {sorted(used - allowed)}: update docs/design.md or the code"
    assert "Arrows point at what a package imports" in (REPO / "docs" / "design.md").read_text(encoding="utf-8")
