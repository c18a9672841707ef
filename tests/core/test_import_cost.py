"""What importing stream.core costs: a service without dependencies never loads
dependency-injector (about 130 ms with the pydantic-settings and yaml it brings), so
``stream run`` starts faster. A ``Provide[...]`` marker imports it in the user's module."""

from __future__ import annotations

import subprocess
import sys


def test_importing_stream_core_does_not_import_dependency_injector() -> None:
    code = "import sys, stream.core; print('dependency_injector' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
