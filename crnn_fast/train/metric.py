"""MindOCR's ``RecMetric``: word accuracy and normalised edit distance (MINDOCR_CRNN.md s4).

For each (prediction, ground truth): remove spaces from both (``ignore_space``), lowercase both,
keep only ground-truth characters that are in the dictionary (``filter_ood``; the prediction is
not filtered). ``acc`` = exact matches / N; ``norm_edit_distance`` = 1 - mean(Levenshtein(p, g)
/ max(len(p), len(g))), with ('', '') counting as distance 0.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..charset import DEFAULT_CHARACTERS

__all__ = ["RecMetric", "levenshtein"]


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute: cost 1 each)."""
    if len(a) < len(b):
        a, b = b, a
    prev = np.arange(len(b) + 1)
    for i, ca in enumerate(a, 1):
        cur = np.empty_like(prev)
        cur[0] = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return int(prev[-1])


class RecMetric:
    """Accumulates predictions vs ground truths; ``eval()`` -> {'acc', 'norm_edit_distance'}."""

    def __init__(
        self,
        chars: str | Iterable[str] = DEFAULT_CHARACTERS,
        ignore_space: bool = True,
        lower: bool = True,
    ) -> None:
        self.chars = set(chars)
        self.ignore_space, self.lower = ignore_space, lower
        self.clear()

    def clear(self) -> None:
        self.n, self.correct, self.dist = 0, 0, 0.0

    def _norm(self, s: str, gt: bool) -> str:
        if self.ignore_space:
            s = s.replace(" ", "")
        if self.lower:
            s = s.lower()
        return "".join(c for c in s if c in self.chars) if gt else s

    def update(self, preds: Iterable[str], gts: Iterable[str]) -> None:
        preds, gts = list(preds), list(gts)
        if len(preds) != len(gts):
            raise ValueError(f"{len(preds)} predictions for {len(gts)} ground truths")
        for p, g in zip(preds, gts):
            p, g = self._norm(p, False), self._norm(g, True)
            self.n += 1
            self.correct += p == g
            longest = max(len(p), len(g))
            self.dist += levenshtein(p, g) / longest if longest else 0.0

    def counts(self) -> np.ndarray:
        """(n, correct, summed distance) as float64: all-reduce these across ranks."""
        return np.array([self.n, self.correct, self.dist], np.float64)

    def eval(self, counts: np.ndarray | None = None) -> dict[str, float]:
        n, correct, dist = self.counts() if counts is None else counts
        if n == 0:
            return {"acc": 0.0, "norm_edit_distance": 0.0}
        return {"acc": float(correct / n), "norm_edit_distance": float(1.0 - dist / n)}
