"""The one-way data flow of DESIGN.md, enforced by import-linter's layers contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_layers_contract_holds() -> None:
    root = Path(__file__).parent.parent
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    out = subprocess.run([exe], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    # The layers, and that commands reach the data only through the access layer.
    assert "Contracts: 3 kept, 0 broken" in out.stdout
