from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    try:
        yield s
    finally:
        s.close()
