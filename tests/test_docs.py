"""Meta-tests: every hook is documented (exact signature + example) and has a test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from collabhub import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOK_DOCS = (ROOT / "docs" / "plugins" / "hooks.md").read_text(encoding="utf-8")
HOOK_TESTS = (ROOT / "tests" / "engine" / "test_plugins.py").read_text(encoding="utf-8")
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "collabhub_spec")]


def test_there_are_hooks():
    assert {"register_connectors", "register_commands", "register_simulators"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_signature_and_example(hook):
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    heading = f"### `{hook}({params})`"
    assert heading in HOOK_DOCS, f"docs/plugins/hooks.md lacks the section {heading}"
    section = HOOK_DOCS.split(heading, 1)[1].split("\n### ", 1)[0]
    assert "```python" in section and "@hookimpl" in section, f"the section of {hook} has no example"
    for param in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f"`{param}`" in section, f"the section of {hook} does not describe `{param}`"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    assert re.search(rf"^def test_hook_{hook}\(", HOOK_TESTS, re.M), f"no test_hook_{hook} in test_plugins.py"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_one_line_docstring(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert doc and "\n" not in doc.strip(), f"{hook} needs a one-line docstring"
