"""The README's commands work as written, without running them (issue 19's "done when").

Every ``python -m analysis ...`` command line in the README's code blocks is parsed by the real
command-line parser (``analysis.cli.main.build_parser().parse_args``, not ``--help``), every input
it names is in the repository or written by a command before it in the README, the Python block's
imports and keyword arguments exist, every ``make`` target the README names is in the Makefile and
every repository path the README names in backticks exists. The example lines of the commands'
own ``--help`` and the command lines of the chapters and the other READMEs parse too. Fast:
nothing is fitted or read.
The commands themselves run in the CLI's own tests (``tests/cli``, ``tests/omop/test_cli_omop.py``).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from analysis.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: Per command (``command`` or ``command action``): the options naming files it reads.
INPUTS: dict[str, tuple[str, ...]] = {
    "validate": ("path",), "sccs": ("cohort_dir",), "rsccs": ("data",),
    "omop run": ("cdm", "spec"), "omop cohort": ("cdm", "concepts"),
}
#: ... and the options naming files or folders it writes.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "simulate": ("out", "omop"), "omop run": ("out",), "omop cohort": ("out",),
}
#: The README's stand-in for a user's own files: not checked.
PLACEHOLDER = "/path/to/"
#: ``python -c`` snippets of the README that write files: pattern -> the path written.
PYTHON_WRITERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"copy_eunomia\('([^']+)'\)"), r"\1/eunomia.duckdb"),
    (re.compile(r"to_parquet\('[^']+', '([^']+)'\)"), r"\1"),
)
#: Where a backticked path of the README may live: the repository, or a layer of the package.
PATH_ROOTS: tuple[str, ...] = (".ci", "analysis", "benchmarks", "book", "data", "lab", "tests")
LAYER_ROOTS: tuple[str, ...] = ("sccs", "study", "paper", "synthetic", "teaching", "report",
                                "omop", "cli")


@dataclass
class Command:
    """One shell command of the README: its words, and the folder it runs in."""

    words: list[str]
    cwd: Path
    line: str


@dataclass
class Block:
    """A fenced code block: its language and text."""

    lang: str
    text: str
    commands: list[Command] = field(default_factory=list)


def code_blocks(markdown: str) -> list[Block]:
    """The fenced code blocks of ``markdown``, in order."""
    return [Block(m.group(1), m.group(2))
            for m in re.finditer(r"^```(\w*)\n(.*?)^```$", markdown, re.S | re.M)]


def shell_commands(script: str) -> list[Command]:
    """Split a bash block into commands: lines joined at ``\\``, split at ``&&``, ``;``, ``|``;
    comments dropped; ``cd DIR &&`` changes the folder of the commands after it on that line;
    leading ``NAME=value`` assignments dropped."""
    commands: list[Command] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        cwd, words = ROOT, []
        for token in [*lexer, ";"]:
            if token not in {"&&", ";", "|", "||"}:
                words.append(token)
                continue
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words.pop(0)
            if words[:1] == ["cd"]:
                cwd = (cwd / words[1]).resolve()
            elif words:
                commands.append(Command(words, cwd, line.strip()))
            words = []
    return commands


def analysis_argv(command: Command) -> list[str] | None:
    """The arguments after ``python -m analysis``, or None for another command."""
    w = command.words
    if len(w) > 2 and Path(w[0]).name.startswith("python") and w[1:3] == ["-m", "analysis"]:
        return w[3:]
    return None


def parse(argv: list[str]) -> tuple[object | None, str]:
    """``build_parser().parse_args(argv)``: the namespace, or None and argparse's message."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return build_parser().parse_args(argv), ""
        except SystemExit:
            return None, err.getvalue().strip()


def command_name(ns: object) -> str:
    """``validate``, ``omop run``, ...: the key of :data:`INPUTS` and :data:`OUTPUTS`."""
    action = getattr(ns, "action", None)
    return f"{ns.command} {action}" if action else ns.command


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blocks(readme: str) -> list[Block]:
    found = code_blocks(readme)
    for block in found:
        if block.lang == "bash":
            block.commands = shell_commands(block.text)
    return found


@pytest.fixture(scope="module")
def analysis_commands(blocks: list[Block]) -> list[tuple[Command, list[str]]]:
    return [(c, argv) for b in blocks for c in b.commands
            if (argv := analysis_argv(c)) is not None]


def test_the_extractor_finds_every_kind_of_command(analysis_commands) -> None:
    """Guard of the tests below: an extractor that found nothing would pass them all."""
    names = set()
    for _, argv in analysis_commands:
        ns, _ = parse(argv)
        if ns is not None:
            names.add(command_name(ns))
    assert names >= {"validate", "sccs", "simulate", "rsccs", "omop run", "omop cohort"}
    assert len(analysis_commands) >= 10


def test_the_parser_check_rejects_a_wrong_command() -> None:
    """The check below can fail: a wrong option value and an unknown option are refused."""
    for line in ("python -m analysis sccs data/synthetic --outcome nope",
                 "python -m analysis omop run --cdm x --spec y --out z --engine sqlite",
                 "python -m analysis validate data/synthetic --no-such-option"):
        (command,) = shell_commands(line)
        ns, message = parse(analysis_argv(command))
        assert ns is None and "error:" in message


def test_every_readme_command_parses(analysis_commands) -> None:
    """Each ``python -m analysis ...`` line is accepted by the CLI's own parser."""
    refused = []
    for command, argv in analysis_commands:
        ns, message = parse(argv)
        if ns is None or not callable(getattr(ns, "func", None)):
            refused.append(f"{command.line}\n    {message}")
    assert not refused, "README commands the CLI refuses:\n" + "\n".join(refused)


def _help_texts() -> dict[str, str]:
    """Every subcommand's (and omop action's) ``--help`` text, formatted as the user sees it."""
    import argparse

    def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        return next((a.choices for a in parser._actions
                     if isinstance(a, argparse._SubParsersAction)), {})

    texts = {}
    for name, parser in subparsers(build_parser()).items():
        texts[name] = parser.format_help()
        texts.update({f"{name} {a}": p.format_help() for a, p in subparsers(parser).items()})
    return texts


def test_the_examples_in_each_help_parse() -> None:
    """The example command lines in the commands' own ``--help`` (``sccs``'s examples, ``rsccs``'s
    R-to-command-line translation) are accepted by the parser, as the README's are."""
    examples = []
    for text in _help_texts().values():
        joined = re.sub(r"\\\n\s*", " ", text)
        examples += re.findall(r"^\s*(?:CLI:\s*)?(python -m analysis \S.*)$", joined, re.M)
    assert len(examples) >= 5, examples
    refused = []
    for line in examples:
        (command,) = shell_commands(line)
        ns, message = parse(analysis_argv(command))
        if ns is None:
            refused.append(f"{line}\n    {message}")
    assert not refused, "--help examples the CLI refuses:\n" + "\n".join(refused)


def test_the_command_lines_of_the_other_documents_parse() -> None:
    """The chapters and the other READMEs show commands too (chapter 14's ``omop run``, the CLI
    appendix, the benchmarks): every full ``python -m analysis`` line of their code blocks (an
    elided one, with ``...``, aside) is accepted by the parser."""
    docs = [ROOT / "benchmarks/README.md", ROOT / "data/README.md",
            *sorted((ROOT / "book").glob("*.md"))]
    lines = [(doc.name, line) for doc in docs
             for block in code_blocks(doc.read_text(encoding="utf-8"))
             for line in block.text.replace("\\\n", " ").splitlines()
             if "python -m analysis " in line and "..." not in line]
    assert len(lines) >= 8, lines
    refused = []
    for doc, line in lines:
        for command in shell_commands(line):
            argv = analysis_argv(command)
            ns, message = parse(argv) if argv is not None else (True, "")
            if ns is None:
                refused.append(f"{doc}: {line}\n    {message}")
    assert not refused, "commands the CLI refuses:\n" + "\n".join(refused)


def _written_by_python_c(command: Command) -> list[Path]:
    if command.words[1:2] != ["-c"]:
        return []
    return [Path(m.expand(target)) for pattern, target in PYTHON_WRITERS
            for m in pattern.finditer(command.words[2])]


def _missing_script(command: Command) -> list[str]:
    """``python FILE.py``: FILE.py exists in the folder the README runs it from."""
    script = command.words[1] if len(command.words) > 1 else ""
    runs_script = Path(command.words[0]).name.startswith("python") and script.endswith(".py")
    if runs_script and not (command.cwd / script).is_file():
        return [f"{command.line}: {script} (from {command.cwd})"]
    return []


def _missing_inputs(command: Command, ns: object, written: set[Path]) -> list[str]:
    """The command's inputs neither in the repository nor in ``written`` (placeholders skipped)."""
    missing = []
    for option in INPUTS.get(command_name(ns), ()):
        value = getattr(ns, option)
        if value is None or value.startswith(PLACEHOLDER):
            continue
        path = Path(value)
        if not (path in written if path.is_absolute() else (command.cwd / path).exists()):
            missing.append(f"{command.line}: {option} {value}")
    return missing


def test_every_input_is_in_the_repository_or_written_before(blocks) -> None:
    """A relative input is a file of the repository; an absolute one (``/tmp/...``) is written by
    a README command before it; ``/path/to/...`` is the user's own. Scripts run as
    ``python FILE.py`` exist where the README runs them."""
    written: set[Path] = set()
    missing = []
    for command in (c for b in blocks for c in b.commands):
        written.update(_written_by_python_c(command))
        argv = analysis_argv(command)
        ns = parse(argv)[0] if argv is not None else None
        if ns is None:  # another program, or refused (reported by the parse test)
            missing += _missing_script(command) if argv is None else []
            continue
        missing += _missing_inputs(command, ns, written)
        written.update(Path(getattr(ns, o)) for o in OUTPUTS.get(command_name(ns), ())
                       if getattr(ns, o) is not None)
    assert not missing, "README inputs neither in the repository nor written before:\n" + \
        "\n".join(missing)


def test_the_python_block_imports_and_calls_exist(blocks) -> None:
    """The README's Python example: every imported name exists and every call of an imported
    function binds to its signature (names and keywords; nothing is run)."""
    problems = []
    python_blocks = [b for b in blocks if b.lang == "python"]
    assert python_blocks, "the README has no Python block any more: drop this test"
    for block in python_blocks:
        tree = ast.parse(block.text)
        names: dict[str, object] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if hasattr(module, alias.name):
                        names[alias.asname or alias.name] = getattr(module, alias.name)
                    else:
                        problems.append(f"{node.module} has no {alias.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and callable(names.get(node.func.id)):
                args = [None] * len(node.args)
                kwargs = {k.arg: None for k in node.keywords if k.arg}
                try:
                    inspect.signature(names[node.func.id]).bind(*args, **kwargs)
                except TypeError as exc:
                    problems.append(f"{node.func.id}(...): {exc}")
    assert not problems, "\n".join(problems)


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([\w-]+):", text, re.M))


def test_every_make_target_named_exists(readme: str, blocks) -> None:
    """``make X`` in a code block or in backticks is a target of the Makefile."""
    named = set(re.findall(r"`make ([\w-]+)", readme))
    for command in (c for b in blocks for c in b.commands):
        if command.words[0] == "make":
            named.update(command.words[1:2])
    assert named >= {"book", "test", "pdf", "lab", "exercises"}
    assert not named - _makefile_targets(), f"not in the Makefile: {named - _makefile_targets()}"


def _resolves(token: str) -> bool:
    """A backticked path exists in the repository, or in ``analysis/`` for a layer-relative one
    (``sccs/model.py``); a glob matches at least one file."""
    bases = [ROOT] + ([ROOT / "analysis"] if token.split("/")[0] in LAYER_ROOTS else [])
    return any(any(base.glob(token.rstrip("/"))) for base in bases)


def test_every_repository_path_named_exists(readme: str) -> None:
    """Every backticked path under a folder of the repository (``data/omop/...``,
    ``analysis/sccs/_aliasing.py``, ``benchmarks/bench_*.py``) or of a layer
    (``study/contract.py``) exists."""
    tokens = set(re.findall(r"`([\w.*-]+(?:/[\w.*-]+)+/?)`", readme))
    roots = PATH_ROOTS + LAYER_ROOTS
    checked = sorted(t for t in tokens if t.split("/")[0] in roots)
    assert len(checked) >= 20, checked
    missing = [t for t in checked if not _resolves(t)]
    assert not missing, f"paths the README names that do not exist: {missing}"


def test_the_quoted_specification_error_is_the_loaders(readme: str, tmp_path: Path) -> None:
    """The README quotes the error of a negative ``naive_period``: the loader says exactly that,
    naming the key."""
    from analysis.omop.errors import OmopError
    from analysis.omop.spec import load_specification

    quoted = re.search(r"`(sccs_analysis_list\[0\][^`]*naive_period:[^`]*)`", readme)
    if quoted is None:
        pytest.skip("the README no longer quotes the naive_period error")
    spec = (ROOT / "data/omop/eunomia-ohdsi-test.yaml").read_text(encoding="utf-8")
    assert "naive_period: 180" in spec
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.replace("naive_period: 180", "naive_period: -1"), encoding="utf-8")
    with pytest.raises(OmopError) as caught:
        load_specification(bad)
    assert " ".join(quoted.group(1).split()) in str(caught.value)
