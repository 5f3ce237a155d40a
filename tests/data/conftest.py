"""Fixtures of the data tests: tiny MindOCR-layout LMDBs built in tmp_path (``rng`` comes
from tests/conftest.py, which also logs each test's corrupt-record summaries at its teardown)."""

from __future__ import annotations

import pytest
from data_helpers import make_records

from crnn_fast.data import write_lmdb


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
