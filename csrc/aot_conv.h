// The conv2d part of the aot entries' arguments, shared by aot_conv.cpp and aot_conv_block.cpp.
#pragma once

#include "aot_util.h"
#include "crnn/conv2d.h"

namespace crnn {
namespace aot {

// The convolution of x (tensor 0, (B, C_in, H, W) float32) and w (tensor 1, (C_out, C_in / g,
// kh, kw)) configured by the shapes of tensors `config` (s_h, s_w, d_h, d_w, groups, relu + 1)
// and `pads` (pad_t + 1, pad_b + 1, pad_l + 1, pad_r + 1), validated (check::conv2d). The
// forward reads the relu flag and scans x and w for NaN/Inf; the backward does neither (its
// forward did) and lets a non-finite dy through (see crnn_aot_conv2d_backward).
crnn_conv2d_desc parse_conv2d(const Args &a, int config, int pads, bool forward);

}  // namespace aot
}  // namespace crnn
