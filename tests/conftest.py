"""Makes `tests.support` importable from every test directory: pytest's default import mode puts
only each test file's own directory on sys.path, not the repository root."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
