// One validation of conv2d's arguments, shared by the pybind11 binding (bind_conv.cpp) and the
// MindSpore aot entries (aot_conv.cpp): framework-free, a check::Check out (see check_common.h).
// Array types, dtypes and ranks stay in each layer; this checks the sizes and options.
#pragma once

#include <stdint.h>

#include <string>

#include "check_common.h"
#include "crnn/conv2d.h"
#include "crnn/conv_block.h"

namespace crnn {
namespace check {

// x (B, C_in, H, W) and w (C_out, w_c_in, kh, kw) as described by `d` (w_c_in = w's shape[1],
// which must be C_in / groups); stride, dilation, groups >= 1, pads >= 0, and a kernel that fits
// the padded input. x_shape / w_shape are the shapes as text, for the messages.
Check conv2d(const crnn_conv2d_desc &d, int64_t w_c_in, const std::string &x_shape,
             const std::string &w_shape);

// The block's options around an already checked convolution (crnn/conv_block.h): BatchNorm's
// eps > 0, momentum in [0, 1] and >= 2 values per channel; a pool window that fits (paddings
// < window, strides >= 1) and is not combined with a residual.
Check conv_block(const crnn_conv_block_desc &d);

}  // namespace check
}  // namespace crnn
