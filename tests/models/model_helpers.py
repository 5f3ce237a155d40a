"""Helpers of the CRNN model tests: the contract's parameter lists, random BatchNorm
statistics, inputs."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
from mindspore import Tensor, nn

HERE = Path(__file__).resolve().parent
# The contract's lists (MINDOCR_CRNN.md section 1.7 and MINDOCR_CRNN_resnet34_params.tsv):
# name <TAB> shape, in MindOCR's parameters_and_names order.
CONTRACT_FILES = {
    "crnn_vgg7": HERE / "mindocr_crnn_vgg7_params.tsv",
    "crnn_resnet34": HERE / "mindocr_crnn_resnet34_params.tsv",
}


def contract_params(name: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in CONTRACT_FILES[name].read_text(encoding="utf-8").splitlines():
        pname, shape = line.split("\t")
        rows.append((pname, tuple(ast.literal_eval(shape))))
    return rows


def model_params(model: nn.Cell) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in model.parameters_and_names()]


def randomize_batchnorm(model: nn.Cell, rng: np.random.Generator) -> int:
    """Moving statistics, gamma and beta of every BatchNorm2d far from their initial values
    (so that inference-mode comparisons and folding are not trivially the identity)."""
    count = 0
    for _, cell in model.cells_and_names():
        if isinstance(cell, nn.BatchNorm2d):
            n = cell.num_features
            cell.moving_mean.set_data(Tensor(rng.normal(0, 0.1, n).astype(np.float32)))
            var = rng.uniform(0.5, 2.0, n).astype(np.float32)
            cell.moving_variance.set_data(Tensor(var))
            cell.gamma.set_data(Tensor(rng.uniform(0.5, 1.5, n).astype(np.float32)))
            cell.beta.set_data(Tensor(rng.normal(0, 0.1, n).astype(np.float32)))
            count += 1
    return count


def image(rng: np.random.Generator, B: int, H: int = 32, W: int = 100) -> Tensor:
    """A batch of normalised images (B, 3, H, W) in MindOCR's value range [-1, 1]."""
    return Tensor(rng.uniform(-1, 1, (B, 3, H, W)).astype(np.float32))
