"""Every Python example in the READMEs runs: what a reader copies works."""

from __future__ import annotations

import inspect
import re
import sys
import types
from pathlib import Path

import anyio
import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = [
    # The local broker's example starts a real one.
    pytest.param(path, marks=pytest.mark.kafka) if "kafka-local" in path.parts else path
    for path in sorted([ROOT / "README.md", *ROOT.glob("packages/*/README.md")])
]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.parent.name)
def test_python_examples_run(readme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example may write files
    # The blocks of one README build on each other, as a reader reads them, in one
    # module that pydantic can find its models' names in.
    module = types.ModuleType(f"readme_{readme.parent.name}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = vars(module)
    blocks = PYTHON_BLOCK.findall(readme.read_text())
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{readme.relative_to(ROOT)} block {number}", "exec")
        exec(code, namespace)
    # And the tests they show pass.
    for name, value in list(namespace.items()):
        if name.startswith("test_") and inspect.iscoroutinefunction(value):
            anyio.run(value)
