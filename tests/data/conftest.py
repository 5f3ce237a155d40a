"""Fixtures of the data tests: tiny MindOCR-layout LMDBs built in tmp_path (``rng`` comes
from tests/conftest.py); every test's corrupt-record summaries are logged at its teardown."""

from __future__ import annotations

import pytest
from data_helpers import make_records

from crnn_fast.data import log_corrupt_summaries, write_lmdb


@pytest.fixture(autouse=True)
def _corrupt_summaries():
    """Logs the "corrupt record(s) skipped" summaries of the datasets a test built inside the
    test (pytest captures them) rather than at interpreter exit, after pytest's summary."""
    yield
    log_corrupt_summaries()


@pytest.fixture
def lmdb_tree(tmp_path, rng):
    """root/{a, b/b1, b/b2} LMDBs with 3, 4, 5 labelled records 'a_1'.., 'b1_1'.., 'b2_1'..."""
    root = tmp_path / "root"
    spec = {"a": 3, "b/b1": 4, "b/b2": 5}
    for sub, n in spec.items():
        name = sub.split("/")[-1]
        write_lmdb(
            root / sub, make_records(rng, [f"{name}_{i}" for i in range(1, n + 1)], (16, 40))
        )
    return root
