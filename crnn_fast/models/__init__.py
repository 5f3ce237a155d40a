"""MindOCR's CRNN models on crnn_fast's layers (importing this imports MindSpore).

``build_model("crnn_vgg7" | "crnn_resnet34" | "crnn_resnet34_ch", num_classes=None,
backend=None)`` and ``build_model_from_config(cfg)`` (a MindOCR YAML ``model:`` section) return
a ``BaseModel`` -- backbone (``rec_vgg7`` / ``rec_resnet34``) -> neck ``RNNEncoder`` (2-layer
BiLSTM, ``crnn_fast.nn.LSTM``) -> head ``CTCHead`` -- with MindOCR's layers, initializers and
parameter names, so MindOCR checkpoints load as they are. Training mode (``set_train(True)``)
outputs logits (T, B, C) for the CTC loss, inference mode (MindSpore's default) softmax
probabilities (B, T, C).
``fold_for_inference(model)`` folds the backbone's Conv+BN(+ReLU) blocks for inference.
"""

from ._layers import backend_scope
from .base_model import BaseModel
from .builder import (
    VARIANTS,
    ModelSpec,
    build_model,
    build_model_from_config,
    character_dict_path,
    load_checkpoint_strict,
    num_classes_of_dict,
)
from .fold import fold_for_inference
from .heads import CTCHead
from .necks import RNNEncoder
from .rec_resnet import BasicBlock, ConvNormLayer, RecResNet, rec_resnet34
from .rec_vgg import RecVGG, VGGConvBlock, rec_vgg7

__all__ = [
    "VARIANTS",
    "BaseModel",
    "BasicBlock",
    "CTCHead",
    "ConvNormLayer",
    "ModelSpec",
    "RNNEncoder",
    "RecResNet",
    "RecVGG",
    "VGGConvBlock",
    "backend_scope",
    "build_model",
    "build_model_from_config",
    "character_dict_path",
    "fold_for_inference",
    "load_checkpoint_strict",
    "num_classes_of_dict",
    "rec_resnet34",
    "rec_vgg7",
]
