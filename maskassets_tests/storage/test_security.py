"""Security rules checked on the source itself: checkpoints are only unpickled with weights_only=True,
no user string can reach a shell (the package starts no process), and every README command that
starts the webserver binds it to loopback."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from maskassets_tests.support.commands import REPO_ROOT

PACKAGE_FILES = sorted((REPO_ROOT / "maskassets").rglob("*.py"))
PROCESS_STARTERS = {"system", "popen", "spawnl", "spawnv", "execv", "execl", "startfile"}


def _calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def _called_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def test_checkpoints_are_only_unpickled_with_weights_only():
    loads = [(path, call) for path in PACKAGE_FILES for call in _calls(path) if _called_name(call) == "torch.load"]
    assert loads, "no torch.load found: the checkpoint reader moved, update this test"
    for path, call in loads:
        keywords = {keyword.arg: ast.unparse(keyword.value) for keyword in call.keywords}
        assert keywords.get("weights_only") == "True", f"{path}:{call.lineno}"


def test_the_package_starts_no_process_so_no_string_reaches_a_shell():
    for path in PACKAGE_FILES:
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & {"subprocess", "pty", "commands"}, path
        for call in _calls(path):
            name = _called_name(call)
            assert not (name.startswith("os.") and name.split(".")[-1] in PROCESS_STARTERS), f"{path}:{call.lineno}"
            assert not any(keyword.arg == "shell" for keyword in call.keywords), f"{path}:{call.lineno}"


def test_every_readme_command_that_starts_the_webserver_binds_it_to_loopback():
    code_blocks = re.findall(r"```(\w*)\n(.*?)```", (REPO_ROOT / "README.md").read_text(), flags=re.DOTALL)
    commands = [line for language, block in code_blocks if language in ("", "bash") for line in block.splitlines()]
    starts = [line for line in commands if re.search(r"dagster(-webserver| dev)\b", line)]
    assert starts, "README shows no webserver command"
    for line in starts:
        assert re.search(r"(-h|--host) 127\.0\.0\.1\b", line), line
