"""Predict throughput: ``crnn_fast.train.predict.predict`` on real-looking word crops (the
shipped out-of-distribution set's ``plain`` LMDB, 150 images; quick runs: the first 32), images
read, decoded, resized, recognised by CRNN-VGG7 at batch 64 and decoded greedily (MindOCR's
rule) or by prefix beam search (width 10), results kept in memory.

Groups ``predict/greedy`` and ``predict/beam10`` (quick: ``-n32`` appended); ``items`` = the
image count, so the report shows images/s. Providers: ``crnn_fast`` (the folded model on the
``cpu`` backend, as ``crnn-fast predict`` runs it) and ``stock`` (the same weights on
MindSpore's own ops, unfolded). The weights are untrained (seeded): throughput does not depend
on them; both providers must read the same texts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crnn_fast.bench.common import QUICK, requested_backends, run_timed, tag

ms = pytest.importorskip("mindspore", reason="MindSpore not installed")

from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.evalsets import ood_sets  # noqa: E402
from crnn_fast.models import backend_scope, build_model, fold_for_inference  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.predict import predict, scan_images  # noqa: E402

LIMIT = 32 if QUICK else None
SUFFIX = f"-n{LIMIT}" if LIMIT else ""
DECODERS = {"greedy": 0, "beam10": 10}
STOCK_IMAGES = 4  # MindSpore 2.10's CPU convolutions: ~1.5 s per image; scaled in the report
PROVIDERS = (["crnn_fast"] if "cpu" in requested_backends() else []) + ([] if QUICK else ["stock"])
_TEXTS: dict[str, list[str]] = {}
_WEIGHTS: dict[str, np.ndarray] = {}


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    ms.set_context(mode=ms.GRAPH_MODE)
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")


def model(backend: str) -> Any:
    """CRNN-VGG7 in inference mode on ``backend``, every provider with the same seeded weights."""
    with backend_scope(backend):
        net = build_model("crnn_vgg7", backend=backend)
    if not _WEIGHTS:
        _WEIGHTS.update({p.name: p.asnumpy().copy() for p in net.get_parameters()})
    else:
        params = {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in _WEIGHTS.items()}
        missing, _ = ms.load_param_into_net(net, params, strict_load=True)
        assert not missing, missing
    net.set_train(False)
    if backend != "stock":
        fold_for_inference(net)
    return net


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("decoder", list(DECODERS))
def test_predict(benchmark: Any, decoder: str, provider: str) -> None:
    source = ood_sets()["plain"]
    cfg = load_config(config_path("crnn_vgg7"))
    net = model("cpu" if provider == "crnn_fast" else "stock")
    beam = DECODERS[decoder]

    def reader(limit: int | None) -> Any:
        def fn() -> list[str]:
            with backend_scope("cpu" if provider == "crnn_fast" else "stock"):
                res = predict(cfg, source, net=net, out=None, beam_width=beam, limit=limit)
            return [t for _, t, _ in res]

        return fn

    n = len(scan_images(source)[:LIMIT])
    note = f"{n} images of {source.parent.name}/{source.name}, batch 64"
    if provider == "stock":
        fn, note = reader(STOCK_IMAGES), f"timed on the first {STOCK_IMAGES} of {note}"
        tag(benchmark, "predict", decoder + SUFFIX, provider, items=n, note=note,
            measured_batch=STOCK_IMAGES, time_scale=n / STOCK_IMAGES)  # fmt: skip
    else:
        fn = reader(LIMIT)
        tag(benchmark, "predict", decoder + SUFFIX, provider, items=n, note=note)
    texts = run_timed(benchmark, fn, budget_s=6.0, max_rounds=10)
    want = _TEXTS.setdefault(decoder, texts)
    same = sum(a == b for a, b in zip(texts, want))
    assert same >= 0.98 * len(texts), f"{provider} reads {same}/{len(texts)} texts as the first"
