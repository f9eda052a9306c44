"""The one-way data flow of ARCHITECTURE.md, enforced by import-linter's layers contract."""

from __future__ import annotations

import re
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


def _text_files(root: Path) -> list[Path]:
    files = [root / "README.md", root / "pyproject.toml"]
    for folder in ("src", "tests", "bench", "docker"):
        files += [p for p in (root / folder).rglob("*") if p.suffix in (".py", ".sql", ".md")]
    return [p for p in files if p.is_file() and ".egg-info" not in str(p)]


def test_architecture_md_names_every_module() -> None:
    """One line per module in ARCHITECTURE.md: a module added without one fails here."""
    root = Path(__file__).parent.parent
    text = (root / "ARCHITECTURE.md").read_text()
    package = root / "src" / "otelcap"
    missing = []
    for path in sorted(package.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        dotted = "otelcap." + ".".join(path.relative_to(package).with_suffix("").parts)
        if f"`{path.name}`" not in text and dotted not in text:
            missing.append(str(path.relative_to(package)))
    assert missing == [], "say in ARCHITECTURE.md what these modules own"


def test_no_comment_or_help_cites_a_document_outside_the_repository() -> None:
    root = Path(__file__).parent.parent
    docs = {p.relative_to(root).as_posix() for p in root.rglob("*.md") if ".venv" not in p.parts}
    cited = re.compile(r"[\w./-]*\w\.md\b")
    outside = []
    for path in _text_files(root):
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for name in cited.findall(line):
                if not any(d == name or d.endswith("/" + name.lstrip("./")) for d in docs):
                    outside.append(f"{path.relative_to(root)}:{n}: {name}")
    assert outside == []
