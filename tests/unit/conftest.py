from __future__ import annotations

import pytest

from tests.fixtures.archive import ARCHIVE
from tests.fixtures.kinds import build_index


@pytest.fixture
def archive(tmp_path):
    """The test archive indexed with the fake embedder: (index path, embedder)."""
    return build_index(tmp_path / "idx", ARCHIVE)
