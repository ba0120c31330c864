"""The code blocks of the documentation (README.md, the pages of docs/, docstrings), run as a reader would.

A block is run by default. A marker just before it says otherwise, in Markdown as an HTML comment
(``<!-- doc-test: KIND: ARGUMENT -->``), in a docstring as an RST comment (``.. doc-test: KIND: ARGUMENT``):

* ``skip: REASON``: not run (e.g. it needs a real Livepeer account), reported as skipped with the reason;
* ``file: PATH``: a file the reader saves at PATH of their project; a ``test_*.py`` file is run with pytest
  in a fresh process, in a project holding every ``file`` block of the same document;
* ``server: PORT [PORT...]``: each command starts a server on PORT and runs until stopped; each is started
  on a free port instead, must accept connections, and is stopped;
* ``airflow: VERSION``: the block needs Airflow VERSION or newer (e.g. ``3.0``); run there, skipped with the
  reason on older ones.

Python blocks run in this process, in a fresh namespace; shell blocks with ``bash -euo pipefail``. A MyST
directive (```` ```{literalinclude} ````, ```` ```{include} ````...) is no code block: what it includes is
tested where it lives (an example DAG, a test file).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.project import PROJECT_ROOT
from tests.support.servers import free_port

#: Fence languages that are run, and the runner of each; other languages (``text``...) are not run.
RUN_LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "shell": "bash", "sh": "bash"}
MARKER_KINDS = ("skip", "file", "server", "airflow")

_FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
_DIRECTIVE_FENCE = re.compile(r"^```\s*\{[\w:-]+\}")
_HTML_MARKER = re.compile(r"^<!--\s*doc-test:(.*)-->\s*$")
_RST_MARKER = re.compile(r"^\s*\.\. doc-test:(.*)$")
_CODE_BLOCK = re.compile(r"^(\s*)\.\. code-block::\s*(\S+)\s*$")
_LITERAL_BLOCK = re.compile(r"(^|[^:]):: *$")


class DocBlockError(ValueError):
    """A document whose blocks cannot be collected as written (a malformed marker, a fence without end)."""


@dataclass(frozen=True)
class Block:
    """One code block of a document."""

    source: Path
    line: int  # the line of the block's first line of code in ``source``
    language: str  # a key of RUN_LANGUAGES, or another fence language (not run)
    code: str
    where: str  # the heading above it, or the documented object's name
    marker: tuple[str, str] | None = None

    @property
    def runner(self) -> str | None:
        return RUN_LANGUAGES.get(self.language)

    @property
    def test_id(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.where).strip("-").lower()
        document = self.source.relative_to(PROJECT_ROOT) if self.source.is_relative_to(PROJECT_ROOT) else None
        return f"{(document or self.source.name)}:{self.line}:{slug}"


def parse_marker(text: str, source: Path, line: int) -> tuple[str, str]:
    kind, _, argument = text.strip().partition(":")
    kind, argument = kind.strip(), argument.strip()
    if kind not in MARKER_KINDS or not argument:
        raise DocBlockError(
            f"{source}:{line}: malformed doc-test marker {text.strip()!r}: expected one of "
            f"{', '.join(f'{k}: ...' for k in MARKER_KINDS)}"
        )
    return kind, argument


def markdown_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, each with its heading and marker."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    heading, marker_line, index = path.name, None, 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if _DIRECTIVE_FENCE.match(line):
            index = _fence_end(lines, index, path) + 1
            marker_line = None
            continue
        fence = _FENCE.match(line)
        if fence is None:
            if line.strip():
                marker_line = index if "doc-test" in line else None
            index += 1
            continue
        end = _fence_end(lines, index, path)
        marker = None
        if marker_line is not None:
            found = _HTML_MARKER.match(lines[marker_line])
            if found is None:
                raise DocBlockError(f"{path}:{marker_line + 1}: expected <!-- doc-test: KIND: ARGUMENT -->")
            marker = parse_marker(found.group(1), path, marker_line + 1)
        code = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(path, index + 2, fence.group(1).lower(), code, heading, marker))
        marker_line, index = None, end + 1
    return blocks


def _fence_end(lines: list[str], start: int, path: Path) -> int:
    """The line of the fence that closes the one opened at ``start``."""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("```")), None)
    if end is None:
        raise DocBlockError(f"{path}:{start + 1}: a code fence that never ends")
    return end


def docstring_blocks(package: Path) -> tuple[list[Block], list[str]]:
    """The ``.. code-block::`` blocks and ``>>>`` examples of a package's docstrings.

    Also returns the places of literal blocks (``::``) that are not code blocks, which no test would run.
    """
    blocks: list[Block] = []
    literal: list[str] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            docstring = ast.get_docstring(node, clean=False)
            if not docstring or not node.body:
                continue
            first = node.body[0].lineno
            name = f"{path.stem}.{getattr(node, 'name', '')}".rstrip(".")
            found, literals = _blocks_of_docstring(docstring, path, first, name)
            blocks += found
            literal += literals
    return blocks, literal


def _blocks_of_docstring(docstring: str, path: Path, first: int, name: str) -> tuple[list[Block], list[str]]:
    lines = docstring.splitlines()
    blocks: list[Block] = []
    literal: list[str] = []
    for index, line in enumerate(lines):
        if line.strip().startswith(">>>"):
            literal.append(f"{path}:{first + index}: a >>> example; write it as a .. code-block:: python")
        directive = _CODE_BLOCK.match(line)
        if directive is None:
            if _LITERAL_BLOCK.search(line):
                literal.append(f"{path}:{first + index}: a literal block (::) that is not a code block")
            continue
        indent = len(directive.group(1))
        body: list[tuple[int, str]] = []
        for offset in range(index + 1, len(lines)):
            text = lines[offset]
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            body.append((offset, text))
        while body and not body[0][1].strip():
            body.pop(0)
        while body and not body[-1][1].strip():
            body.pop()
        if not body:
            raise DocBlockError(f"{path}:{first + index}: an empty code block")
        margin = min(len(text) - len(text.lstrip()) for _, text in body if text.strip())
        code = "\n".join(text[margin:] for _, text in body) + "\n"
        before = [text for text in lines[:index] if text.strip()]
        marker = None
        if before and (found := _RST_MARKER.match(before[-1])):
            marker = parse_marker(found.group(1), path, first + index - 1)
        blocks.append(Block(path, first + body[0][0], directive.group(2).lower(), code, name, marker))
    return blocks, literal


def mutated_document(path: Path, folder: Path, old: str, new: str) -> list[Block]:
    """The blocks of a copy of the Markdown file ``path`` in ``folder``, with ``old`` (found once) made
    ``new``: how a test shows that a broken example fails."""
    text = path.read_text()
    assert text.count(old) == 1, old
    copy = folder / path.name
    copy.write_text(text.replace(old, new))
    return markdown_blocks(copy)


def block_with(blocks: list[Block], text: str) -> Block:
    """The one block whose code holds ``text``."""
    [block] = [block for block in blocks if text in block.code]
    return block


# -- running ---------------------------------------------------------------------------------------------


def run_python(block: Block, workdir: Path) -> None:
    """Run a Python block in this process, in a fresh namespace, from ``workdir``; tracebacks name the doc."""
    code = compile("\n" * (block.line - 1) + block.code, str(block.source), "exec")
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        exec(code, {"__name__": "__doc_block__"})
    finally:
        os.chdir(previous)


def shell_env(home: Path) -> dict[str, str]:
    """The environment of a shell block: this interpreter's scripts first, a throwaway Airflow home, no
    connections or Livepeer settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LIVEPEER"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["AIRFLOW_HOME"] = str(home)
    return env


def run_shell(block: Block, workdir: Path, env: dict[str, str]) -> None:
    """Run a shell block with ``bash -euo pipefail``; fail with its output unless it exits 0."""
    run_command(block, ["bash", "-euo", "pipefail", "-c", block.code], workdir, env, 120)


def run_command(block: Block, command: list[str], workdir: Path, env: dict[str, str], timeout: float) -> None:
    """Run what a block says; fail with the output, naming the block, unless it exits 0."""
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{block.test_id} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )


def exported_variables(code: str) -> Iterator[tuple[str, str]]:
    """The ``export NAME=VALUE`` lines of a shell block, as the shell reads them."""
    for line in code.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            yield name, value


def run_servers(block: Block, ports: list[int], workdir: Path, env: dict[str, str]) -> None:
    """Start each command of a ``server`` block on a free port instead of its own; each must accept
    connections within 30 s. All are stopped afterwards."""
    code = block.code
    chosen = {port: free_port() for port in ports}
    for port, free in chosen.items():
        code = re.sub(rf"\b{port}\b", str(free), code)
    commands = [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands, f"{block.test_id}: a server block with no command"
    for command in commands:
        port = next((free for free in chosen.values() if re.search(rf"\b{free}\b", command)), None)
        assert port is not None, f"{block.test_id}: {command!r} names none of the ports {ports}"
        log = workdir / f"server-{port}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_until_listening(process, port, 30, log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listened on port {port} within {timeout} s:\n{log.read_text()}")


def write_files(blocks: list[Block], project: Path) -> None:
    """Save every ``file`` block where its marker says, under ``project``."""
    for block in blocks:
        if block.marker and block.marker[0] == "file":
            target = project / block.marker[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code)


def run_pytest_file(block: Block, project: Path) -> None:
    """Run a saved test file with pytest in a fresh process, from the project's root, as its reader would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LIVEPEER", "PYTEST"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    assert block.marker is not None
    pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", block.marker[1]]
    run_command(block, pytest_command, project, env, 600)


def run_block(block: Block, blocks: list[Block], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Run one block as its reader would: see the module docs. ``blocks`` are its document's blocks."""
    kind, argument = block.marker or ("", "")
    if kind == "skip":
        pytest.skip(argument)
    if kind == "airflow":
        from airflow_provider_livepeer.version_compat import AIRFLOW_VERSION, AIRFLOW_VERSION_STRING

        needed = tuple(int(part) for part in argument.split("."))
        if needed > AIRFLOW_VERSION:
            pytest.skip(f"needs Airflow {argument} or newer; this is Airflow {AIRFLOW_VERSION_STRING}")
    shell = shell_env(tmp_path / "airflow-home")
    if kind == "server":
        assert block.runner == "bash", f"{block.test_id}: only shell blocks start servers"
        run_servers(block, [int(port) for port in argument.split()], tmp_path, shell)
    elif kind == "file" and Path(argument).name.startswith("test_"):
        write_files(blocks, tmp_path)
        run_pytest_file(block, tmp_path)
    elif block.runner == "python":
        request.getfixturevalue("emulator_conn")  # livepeer_default -> a running emulator
        run_python(block, tmp_path)
    else:
        run_shell(block, tmp_path, shell)
        check_exported_connections(block, request.getfixturevalue("monkeypatch"))


def check_exported_connections(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection a shell block exports gives the hook an API URL, the same for each form of it."""
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    urls: dict[str, set[str]] = {}
    for name, value in exported_variables(block.code):
        if name.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(name, value)
            conn_id = name.removeprefix("AIRFLOW_CONN_").lower()
            urls.setdefault(conn_id, set()).add(LivepeerHook(conn_id).base_url)
    different = {conn_id: found for conn_id, found in urls.items() if len(found) > 1}
    assert not different, f"{block.test_id}: the forms of a connection disagree: {different}"
