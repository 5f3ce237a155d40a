"""``crnn-fast export`` (issue 20): the checkpoint as ONNX and MindIR gives crnn_fast's own
outputs (ONNX Runtime; ``mindspore.load`` + ``nn.GraphCell``) within 1e-5, on both backbones,
with the sidecar JSON a runtime needs; bad arguments name themselves."""

from __future__ import annotations

import json

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from crnn_fast.cli.app import main  # noqa: E402
from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.infer import export_model  # noqa: E402
from crnn_fast.models import build_model_from_config  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.trainer import model_from_checkpoint  # noqa: E402


def peaky_checkpoint(cfg: dict, path) -> str:
    """A checkpoint of ``cfg``'s model whose head is scaled so that the softmax is far from
    uniform (a fresh model's near-uniform output would hide most errors)."""
    net = build_model_from_config(cfg["model"])
    for p in net.get_parameters():
        if p.name.startswith("head."):
            p.set_data(ms.Tensor(p.asnumpy() * 400.0))
    ms.save_checkpoint(net, str(path))
    return str(path)


def images(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (batch, 3, 32, 100)).astype(np.float32)


@pytest.fixture(scope="module", params=["crnn_vgg7_synth", "crnn_resnet34"])
def exported(request, tmp_path_factory):
    """(cfg, ckpt, reference output of crnn_fast's own model on ``images(3)``, folder)."""
    tmp = tmp_path_factory.mktemp(request.param)
    cfg = load_config(config_path(request.param), [])
    ckpt = peaky_checkpoint(cfg, tmp / "model.ckpt")
    ref = model_from_checkpoint(cfg, ckpt)(ms.Tensor(images(3))).asnumpy()
    assert ref.shape[0] == 3 and ref.max() > 0.5  # peaky enough to test something
    return cfg, ckpt, ref, tmp


def test_onnx_round_trip(exported):
    import onnxruntime as ort  # a test dependency (pyproject: test)

    cfg, ckpt, ref, tmp = exported
    meta = export_model(cfg, ckpt=ckpt, fmt="onnx", out=tmp / "crnn.onnx", batch=3)
    assert meta["path"] == str(tmp / "crnn.onnx")
    sess = ort.InferenceSession(meta["path"], providers=["CPUExecutionProvider"])
    out = np.full_like(ref, np.nan)
    out[...] = sess.run(None, {sess.get_inputs()[0].name: images(3)})[0]
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    side = json.loads((tmp / "crnn.json").read_text())
    assert side["input"]["shape"] == [3, 3, 32, 100] and side["file"] == "crnn.onnx"
    assert len(side["characters"]) == ref.shape[2] and side["blank"] == ref.shape[2] - 1


def test_mindir_round_trip(exported):
    cfg, ckpt, ref, tmp = exported
    meta = export_model(cfg, ckpt=ckpt, fmt="mindir", out=tmp / "crnn", batch=3)
    cell = ms.nn.GraphCell(ms.load(meta["path"]))
    out = np.full_like(ref, np.nan)
    out[...] = cell(ms.Tensor(images(3))).asnumpy()
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    assert meta["sidecar"] == str(tmp / "crnn.json")


def test_mindir_dynamic_batch(exported):
    """One MindIR graph with a dynamic batch serves batches of 3 and 1."""
    cfg, ckpt, ref, tmp = exported
    meta = export_model(cfg, ckpt=ckpt, fmt="mindir", out=tmp / "dyn", batch=None)
    assert meta["input"]["shape"] == [None, 3, 32, 100]
    cell = ms.nn.GraphCell(ms.load(meta["path"]))
    for b in (3, 1):
        out = np.full_like(ref[:b], np.nan)
        out[...] = cell(ms.Tensor(images(3)[:b])).asnumpy()
        np.testing.assert_allclose(out, ref[:b], rtol=0, atol=1e-5)


def test_sidecar_decodes_like_predict(exported):
    """Greedy decoding as the JSON describes it gives the texts of crnn_fast's decoder."""
    from crnn_fast.train.trainer import label_decoder

    cfg, ckpt, ref, tmp = exported
    side = export_model(cfg, ckpt=ckpt, fmt="mindir", out=tmp / "dec", batch=3)
    texts = []
    for row in ref.argmax(-1):
        keep = [c for i, c in enumerate(row) if c != side["blank"] and (i == 0 or c != row[i - 1])]
        text = "".join(side["characters"][c] for c in keep)
        texts.append(text.lower() if side["lowercase"] else text)
    assert texts == label_decoder(cfg)(ref)["texts"]


def test_bad_arguments_name_themselves(tmp_path):
    cfg = load_config(config_path(), [])
    with pytest.raises(ValueError, match="format"):
        export_model(cfg, ckpt="x.ckpt", fmt="tflite", out=tmp_path / "m")
    with pytest.raises(ValueError, match="batch"):
        export_model(cfg, ckpt="x.ckpt", fmt="onnx", out=tmp_path / "m", batch=0)
    with pytest.raises(ValueError, match="mindir"):  # ONNX: no dynamic batch
        export_model(cfg, ckpt="x.ckpt", fmt="onnx", out=tmp_path / "m", batch=None)
    with pytest.raises(FileNotFoundError, match="ckpt"):
        export_model(cfg, ckpt=str(tmp_path / "missing.ckpt"), fmt="onnx", out=tmp_path / "m")


def test_cli_export(tmp_path, capsys):
    cfg = load_config(config_path(), [])
    ckpt = peaky_checkpoint(cfg, tmp_path / "m.ckpt")
    out = tmp_path / "sub" / "model"
    assert main(["export", "--ckpt", ckpt, "--format", "mindir", "--out", str(out)]) == 0
    assert (tmp_path / "sub" / "model.mindir").is_file()
    assert json.loads(capsys.readouterr().out)["input"]["shape"] == [1, 3, 32, 100]
    assert main(["export", "--ckpt", str(tmp_path / "nope.ckpt")]) == 1
    assert "nope.ckpt" in capsys.readouterr().err
    assert main(["export", "--ckpt", ckpt, "--dynamic-batch"]) == 2  # the default is ONNX
    assert "--dynamic-batch" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not both
        main(["export", "--ckpt", ckpt, "--batch", "2", "--dynamic-batch"])
