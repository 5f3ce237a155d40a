"""The native inference path (issue 20): ``crnn_fast.infer.Recognizer`` runs the whole eval-mode
CRNN as one ``_C`` call and matches the MindSpore model within float32 reordering on both
backbones (BatchNorm statistics randomised so that folding is exercised); its texts, confidences
and positions are MindOCR's postprocess's; ``export --format crnn`` round-trips without
MindSpore; bad inputs name themselves."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from crnn_fast import ctc_greedy_decode  # noqa: E402
from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.infer import Recognizer, export_model  # noqa: E402
from crnn_fast.infer.native import build_net  # noqa: E402
from crnn_fast.models import backend_scope, build_model_from_config  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.predict import predict  # noqa: E402
from crnn_fast.train.trainer import label_decoder, model_from_checkpoint  # noqa: E402

# Probabilities: float32 with another summation order than MindSpore's. The head is scaled so
# that logits reach ~1e2; their ~1e-7 relative reordering error moves a probability by ~1e-5
# (measured <= 1.07e-5 on these cases).
ATOL = 2e-5


def trained_like_checkpoint(cfg: dict, path, seed: int = 0) -> str:
    """A checkpoint whose BatchNorm statistics and affine are far from the identity (so that
    folding matters) and whose head is scaled so that the softmax is peaky."""
    rng = np.random.default_rng(seed)
    net = build_model_from_config(cfg["model"])
    for p in net.get_parameters():
        a = p.asnumpy()
        if p.name.endswith(("moving_mean", ".beta")):
            a = rng.normal(0, 0.2, a.shape)
        elif p.name.endswith(("moving_variance", ".gamma")):
            a = rng.uniform(0.5, 2.0, a.shape)
        elif p.name.startswith("head."):
            a = a * 400.0
        p.set_data(ms.Tensor(a.astype(np.float32)))
    ms.save_checkpoint(net, str(path))
    return str(path)


def images(batch: int, width: int = 100, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (batch, 3, 32, width)).astype(np.float32)


@pytest.fixture(scope="module", params=["crnn_vgg7_synth", "crnn_resnet34"])
def model(request, tmp_path_factory):
    """(cfg, ckpt, the MindSpore model of the stock backend, Recognizer, folder, config name)."""
    tmp = tmp_path_factory.mktemp(request.param)
    cfg = load_config(config_path(request.param), [])
    ckpt = trained_like_checkpoint(cfg, tmp / "model.ckpt")
    with backend_scope("stock"):
        net = model_from_checkpoint(cfg, ckpt)
    return cfg, ckpt, net, Recognizer.from_checkpoint(ckpt, cfg), tmp, request.param


@pytest.mark.parametrize("batch,width", [(1, 100), (3, 100), (2, 160)])
def test_probs_match_the_mindspore_model(model, batch, width):
    cfg, _, net, rec, _, _ = model
    x = images(batch, width)
    ref = net(ms.Tensor(x)).asnumpy()
    assert ref.max() > 0.5  # peaky enough to test something
    got = np.full_like(ref, np.nan)
    got[...] = rec.net.forward(x)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)
    if width == 100:
        np.testing.assert_allclose(rec.forward(x), ref, rtol=0, atol=ATOL)


def test_recognize_is_mindocrs_postprocess(model):
    cfg, _, net, rec, _, _ = model
    x = images(4)
    ref = net(ms.Tensor(x)).asnumpy()
    want = label_decoder(cfg)(ref)
    got = rec.recognize(x)
    assert got.texts == want["texts"]
    np.testing.assert_allclose(got.confidences, np.float64(want["confs"]), rtol=0, atol=ATOL)
    g = ctc_greedy_decode(ref, blank=rec.blank, input_kind="probs", batch_first=True)
    for b in range(4):
        n = int(g.lengths[b])
        assert got.positions[b] == g.frames[b, :n].tolist()
        np.testing.assert_allclose(got.char_probs[b], g.probs[b, :n], rtol=0, atol=ATOL)


def test_concurrent_calls_agree(model):
    rec, x = model[3], images(2)
    want = rec.net.forward(x)
    out = [None] * 4

    def run(i):
        out[i] = rec.net.forward(x)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in out:
        np.testing.assert_array_equal(o, want)


def test_export_crnn_round_trip_without_mindspore(model):
    cfg, ckpt, _, rec, tmp, _ = model
    meta = export_model(cfg, ckpt=ckpt, fmt="crnn", out=tmp / "native")
    assert meta["path"] == str(tmp / "native.crnn") and meta["input"]["shape"][0] is None
    x = images(3)
    np.save(tmp / "x.npy", x)
    np.testing.assert_array_equal(Recognizer.load(tmp / "native.crnn").forward(x), rec.forward(x))
    code = (
        "import sys, numpy as np; sys.modules['mindspore'] = None\n"  # importing it fails
        "from crnn_fast.infer import Recognizer\n"
        f"r = Recognizer.load({str(tmp / 'native')!r})\n"
        f"np.save({str(tmp / 'y.npy')!r}, r.forward(np.load({str(tmp / 'x.npy')!r})))\n"
        "assert 'mindspore' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    np.testing.assert_array_equal(np.load(tmp / "y.npy"), rec.forward(x))


def test_predict_from_a_crnn_file_imports_no_mindspore(model, tmp_path):
    """``crnn-fast predict --ckpt X.crnn``: the same texts as from the checkpoint, in a process
    where importing MindSpore fails."""
    from PIL import Image

    cfg, ckpt, _, _, tmp, name = model
    export_model(cfg, ckpt=ckpt, fmt="crnn", out=tmp / "pred")
    rng = np.random.default_rng(5)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 100, 3), np.uint8)).save(tmp_path / f"{i}.png")
    want = predict(cfg, tmp_path, ckpt=ckpt, out=None)
    config = str(config_path(name))
    out = tmp_path / "rec.txt"
    code = (
        "import sys; sys.modules['mindspore'] = None\n"
        "from crnn_fast.cli.app import main\n"
        f"sys.exit(main(['predict', {str(tmp_path)!r}, '--config', {config!r}, '--ckpt', "
        f"{str(tmp / 'pred.crnn')!r}, '--out', {str(out)!r}]))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    got = [line.split("\t") for line in out.read_text().splitlines()]
    assert [t for _, t in got] == [t for _, t, _ in want]


def test_predict_native_equals_mindspore_engine(model, tmp_path):
    from PIL import Image

    cfg, ckpt, _, _, _, _ = model
    rng = np.random.default_rng(3)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 90 + 10 * i, 3), np.uint8)).save(
            tmp_path / f"im{i}.png"
        )
    native = predict(cfg, tmp_path, ckpt=ckpt, out=None)
    stock = predict(cfg, tmp_path, ckpt=ckpt, out=None, engine="mindspore")
    assert [r[1] for r in native] == [r[1] for r in stock]
    np.testing.assert_allclose([r[2] for r in native], [r[2] for r in stock], atol=ATOL)
    with pytest.raises(ValueError, match="engine"):
        predict(cfg, tmp_path, ckpt=ckpt, out=None, engine="onnx")


def test_preprocess_takes_paths_bytes_arrays_and_pil(model, tmp_path):
    from PIL import Image

    rec = model[3]
    arr = np.random.default_rng(4).integers(0, 255, (40, 120, 3), np.uint8)  # RGB
    Image.fromarray(arr).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    batch = rec.preprocess([tmp_path / "a.png", data, arr[:, :, ::-1], Image.fromarray(arr)])
    assert batch.shape == (4, 3, 32, 100) and batch.dtype == np.float32
    for b in batch[1:]:
        np.testing.assert_array_equal(b, batch[0])
    assert rec.recognize(str(tmp_path / "a.png")).texts == rec.recognize(data).texts


def test_bad_inputs_name_themselves(model, tmp_path):
    rec = model[3]
    with pytest.raises(ValueError, match=r"images\[1\]"):
        rec.recognize([np.zeros((32, 80, 3), np.uint8), b"not an image"])
    with pytest.raises(ValueError, match=r"images\[0\].*uint8"):
        rec.recognize([images(1)[0].transpose(1, 2, 0)])
    with pytest.raises(ValueError, match="empty batch"):
        rec.recognize([])
    with pytest.raises(ValueError, match="NaN"):
        rec.recognize(np.full((1, 3, 32, 100), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 100\)"):
        rec.recognize(images(1, 64))
    with pytest.raises(ValueError, match="channels"):
        rec.net.forward(np.zeros((1, 1, 32, 100), np.float32))
    with pytest.raises(ValueError, match="height"):
        rec.net.forward(np.zeros((1, 3, 64, 100), np.float32))
    with pytest.raises(TypeError, match="images"):
        rec.net.forward(np.zeros((1, 3, 32, 100), np.float64))
    with pytest.raises(FileNotFoundError, match="path"):
        Recognizer.load(tmp_path / "missing.crnn")
    (tmp_path / "bad.crnn").write_bytes(b"garbage")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises((ValueError, KeyError, OSError)):
        Recognizer.load(tmp_path / "bad.crnn")


def test_build_net_names_a_missing_parameter(model):
    net = model[2]
    params = {p.name: p.asnumpy() for p in net.get_parameters()}
    del params["neck.seq_encoder.weight_hh_l1"]
    with pytest.raises(ValueError, match="weight_hh_l1"):
        build_net(params)
    with pytest.raises(ValueError, match="backbone"):
        build_net({"head.dense1.weight": np.zeros((3, 4), np.float32)})
