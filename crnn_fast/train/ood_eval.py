"""Scoring a model per style on the out-of-distribution set (``crnn_fast.evalsets``) and
counting which characters it confuses; shared by ``crnn-fast quickstart`` and
``benchmarks/ood_report.py``.

Texts are compared as MindOCR's ``RecMetric`` compares them (``metric.py``): spaces removed
and lowercased on both sides, the label also restricted to the dictionary. Per set:
``acc`` = exact matches / N, ``norm_edit_distance`` = 1 - mean(Levenshtein / longer length).

Confusions come from an edit-distance alignment of label vs prediction (:func:`align`): each
substitution ``(label char, predicted char)``, deletion ``(label char, "")`` (a character not
read) and insertion ``("", predicted char)`` (a character read that is not there) counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .metric import RecMetric

__all__ = [
    "SetScore",
    "align",
    "confusions",
    "edit_ops",
    "format_pair",
    "load_manifest_texts",
    "normalise",
    "score_sets",
    "score_texts",
    "summary",
]


def normalise(text: str, chars: Iterable[str] | None = None) -> str:
    """``text`` as ``RecMetric`` compares it: spaces removed, lowercased and, when ``chars``
    is given (the label side), restricted to ``chars``."""
    text = text.replace(" ", "").lower()
    if chars is None:
        return text
    keep = set(chars)
    return "".join(c for c in text if c in keep)


def align(label: str, pred: str) -> list[tuple[str, str]]:
    """A minimum edit-distance alignment of ``label`` and ``pred``: ``(a, b)`` pairs in text
    order, a match ``(c, c)``, a substitution ``(c, d)``, a deletion ``(c, "")`` or an insertion
    ``("", d)``. Ties go to a match/substitution, then a deletion, then an insertion (walking
    back from the ends), so the result is deterministic."""
    n, m = len(label), len(pred)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j - 1] + (label[i - 1] != pred[j - 1]),
                          d[i - 1][j] + 1, d[i][j - 1] + 1)  # fmt: skip
    out: list[tuple[str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (label[i - 1] != pred[j - 1]):
            out.append((label[i - 1], pred[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            out.append((label[i - 1], ""))
            i -= 1
        else:
            out.append(("", pred[j - 1]))
            j -= 1
    return out[::-1]


def edit_ops(label: str, pred: str) -> list[tuple[str, str]]:
    """The non-matching pairs of :func:`align` (their count is the edit distance)."""
    return [(a, b) for a, b in align(label, pred) if a != b]


def confusions(pairs: Iterable[tuple[str, str]]) -> Counter:
    """``Counter`` of edit operations ``(label char, predicted char)`` over ``(label,
    prediction)`` pairs (already normalised)."""
    count: Counter = Counter()
    for label, pred in pairs:
        count.update(edit_ops(label, pred))
    return count


def format_pair(op: tuple[str, str]) -> str:
    """``('l', 'i')`` -> ``l -> i``; a deletion ``e -> (missed)``; an insertion
    ``(extra) -> x``."""
    a, b = op
    return f"{a or '(extra)'} -> {b or '(missed)'}"


@dataclass
class SetScore:
    """One scored LMDB. ``rows``: ``(key, label, prediction, confidence)`` per record in order,
    ``label`` and ``prediction`` normalised (:func:`normalise`); ``acc`` / ``norm_edit_distance``
    as MindOCR's RecMetric; ``skipped``: ``[(key, reason)]`` of unreadable records (scored as
    empty predictions)."""

    name: str
    path: Path
    rows: list[tuple[str, str, str, float]]
    acc: float
    norm_edit_distance: float
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def misreads(self) -> list[tuple[str, str, str, float]]:
        return [r for r in self.rows if r[1] != r[2]]


def score_texts(labels: list[str], preds: list[str], chars: Iterable[str]) -> dict[str, float]:
    """MindOCR's RecMetric on raw labels and predictions: ``{"acc", "norm_edit_distance"}``."""
    metric = RecMetric(list(chars))
    metric.update(preds, labels)
    return metric.eval()


def score_sets(cfg: dict, sets: Mapping[str, str | Path], *, net=None, ckpt: str | None = None,
               batch_size: int = 64, limit: int | None = None) -> dict[str, SetScore]:  # fmt: skip
    """Greedy-decodes every LMDB of ``sets`` (``{name: folder}``; the first ``limit`` records
    of each when given) with one model (``net``, or the one of ``cfg`` loaded from ``ckpt``,
    Conv+BN folded) through ``predict``'s inference path, and scores each with MindOCR's rule;
    ``{name: SetScore}`` in ``sets`` order."""
    from ..data import read_lmdb
    from ..models import fold_for_inference
    from .predict import predict
    from .trainer import label_decoder, model_from_checkpoint

    if net is None:
        net = model_from_checkpoint(cfg, ckpt)
        fold_for_inference(net)
    post = label_decoder(cfg)
    chars = [c for i, c in sorted(post.character.items()) if i != post.blank_idx]
    out = {}
    for name, path in sets.items():
        labels = [lab for _, lab in read_lmdb(path, limit)]
        res = predict(cfg, path, out=None, batch_size=batch_size, net=net, limit=limit)
        got = {key: (text, conf) for key, text, conf in res}
        keys = [f"image-{i:09d}" for i in range(1, len(labels) + 1)]
        preds = [got.get(k, ("", 0.0)) for k in keys]
        m = score_texts(labels, [p for p, _ in preds], chars)
        rows = [(k, normalise(lab, chars), normalise(p), c)
                for k, lab, (p, c) in zip(keys, labels, preds)]  # fmt: skip
        out[name] = SetScore(name, Path(path), rows, m["acc"], m["norm_edit_distance"],
                             list(res.skipped))  # fmt: skip
    return out


def summary(scores: Mapping[str, SetScore]) -> dict:
    """The figures the quickstart records: ``{"ood_acc": {name: acc}, "ood_norm_edit_distance":
    {name: ned}, "ood_images": {name: n}}``."""
    return {
        "ood_acc": {k: s.acc for k, s in scores.items()},
        "ood_norm_edit_distance": {k: s.norm_edit_distance for k, s in scores.items()},
        "ood_images": {k: len(s.rows) for k, s in scores.items()},
    }


def load_manifest_texts(manifest: str | Path) -> dict[tuple[str, str], str]:
    """``{(style, key): raw text}`` from an OOD ``manifest.json``."""
    import json

    data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    return {(s["style"], s["key"]): s["text"] for s in data["samples"]}
