// Forward convolutions whose weights were prepared once (the native inference path,
// infer_net.cpp): internal to the CPU backend. Same layouts, checks and statuses as the public
// crnn_cpu_conv2d_forward_f32 / crnn_cpu_conv_block_forward_f32, which call these with U NULL.
#pragma once

#include "crnn/conv2d.h"
#include "crnn/conv_block.h"

namespace crnn {
namespace cpu {

// y = conv(x, w) + b (ReLU if d->relu). U: for a layer that runs through Winograd
// (winograd::eligible(d)), its transformed weights (winograd::transform_forward_weights for the
// variant winograd::variant(d) picks now), else ignored; NULL transforms w on every call. UP:
// the same packed for the narrow GEMM (winograd::pack_forward_panels), used where
// winograd::narrow(d) (U may then be NULL), or NULL.
crnn_status_t conv2d_forward(float *y, const float *x, const float *w, const float *U,
                             const float *UP, const float *b, const crnn_conv2d_desc *d,
                             void *workspace, size_t workspace_bytes);

// The conv block without BatchNorm (d->batch_norm must be 0: inference folds it into w and b):
// z = conv(x, w) + b, y = [pool]([relu](z [+ r])). U as for conv2d_forward.
crnn_status_t conv_block_forward(float *y, float *z, const float *x, const float *w, const float *U,
                                 const float *UP, const float *b, const float *r,
                                 const crnn_conv_block_desc *d, void *workspace,
                                 size_t workspace_bytes);

}  // namespace cpu
}  // namespace crnn
