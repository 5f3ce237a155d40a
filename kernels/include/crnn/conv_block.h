// A training-time conv block as one kernel call (crnn_fast kernel C API; backends: CPU):
//   z = conv(x, w) + b                                   (crnn/conv2d.h, saved for the backward)
//   v = batch_norm ? gamma (z - mean) invstd + beta : z  (training BatchNorm2d: batch statistics)
//   v = residual ? v + r : v
//   a = relu ? max(v, 0) : v
//   y = pool ? max_pool(a) : a
// The CRNN backbones' Conv -> BatchNorm2d -> ReLU -> MaxPool2d chains (VGG7) and ResNet34_vd's
// ConvNormLayer / BasicBlock tails (BN, + shortcut, ReLU), with MindSpore's numerics:
//   mean, var: per channel over (B, H_out, W_out), var biased; invstd = 1 / sqrt(var + eps);
//   moving_mean = momentum moving_mean + (1 - momentum) mean,
//   moving_var = momentum moving_var + (1 - momentum) var M / (M - 1), M = B H_out W_out
//   (MindSpore's BatchNorm2d updates its moving variance with the unbiased batch variance).
// Max-pool windows: pool_kh x pool_kw, strides pool_sh / pool_sw, explicit paddings or, with
// pool_same, MindSpore's pad_mode 'same' on the conv output: P = ceil(H_out / s), total padding
// max((P - 1) s + k - H_out, 0), the extra cell at the bottom / right. Padded cells never win
// (every window holds a real cell).
//
// Layouts (NCHW): x (B, C_in, H, W); w (C_out, C_in / groups, kh, kw); b, gamma, beta, mean,
// invstd, moving_mean, moving_var (C_out); z and r (B, C_out, H_out, W_out); y (B, C_out, P_h,
// P_w) with P_h = (H_out + p_t + p_b - pool_kh) / pool_sh + 1, or (B, C_out, H_out, W_out) without
// a pool. A residual block has no pool. Statistics are accumulated in double.
//
// The backward recomputes a from z (and r) to route dy through the pool (the first maximum of a
// window, row-major, takes its gradient) and the ReLU (a > 0), then BatchNorm's backward
//   dv = relu'(a) unpool(dy);  dr = dv;  dbeta = sum dv;  dgamma = sum dv xhat;
//   dz = gamma invstd (dv - dbeta / M - xhat dgamma / M),  xhat = (z - mean) invstd,
// then the convolution's (crnn_conv2d_backward_f32) with dz.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "conv2d.h"
#include "status.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct crnn_conv_block_desc {
  crnn_conv2d_desc conv;  // conv.relu must be 0 (the block's ReLU comes after the BatchNorm)
  int32_t batch_norm;     // 1: training BatchNorm2d of z
  int32_t residual;       // 1: + r before the ReLU (no pool then)
  int32_t relu;           // 1: max(v, 0)
  int64_t pool_kh, pool_kw, pool_sh, pool_sw, pool_pt, pool_pb, pool_pl, pool_pr;  // kh 0: none
  int32_t pool_same;  // 1: 'same' paddings from H_out, W_out (pool_p* ignored)
  float eps, momentum;
} crnn_conv_block_desc;

int64_t crnn_conv_block_out_h(const crnn_conv_block_desc *d);  // P_h (H_out without a pool)
int64_t crnn_conv_block_out_w(const crnn_conv_block_desc *d);
// The pool's paddings (top, bottom, left, right) on the conv output ('same' resolved).
void crnn_conv_block_pool_pads(const crnn_conv_block_desc *d, int64_t pads[4]);

// Writes y, z and, with batch_norm, mean and invstd; updates moving_mean / moving_var in place
// when they are not NULL. b may be NULL; gamma, beta with batch_norm; r with residual.
size_t crnn_conv_block_forward_workspace_size(const crnn_conv_block_desc *d);  // bytes
crnn_status_t crnn_conv_block_forward_f32(float *y, float *z, float *mean, float *invstd,
                                          float *moving_mean, float *moving_var, const float *x,
                                          const float *w, const float *b, const float *gamma,
                                          const float *beta, const float *r,
                                          const crnn_conv_block_desc *d, void *workspace,
                                          size_t workspace_bytes);

// Gradients of the block given dy (y's shape): dx (may be NULL), dw, db (may be NULL),
// dgamma / dbeta (batch_norm), dr (residual).
size_t crnn_conv_block_backward_workspace_size(const crnn_conv_block_desc *d);  // bytes
crnn_status_t crnn_conv_block_backward_f32(float *dx, float *dw, float *db, float *dgamma,
                                           float *dbeta, float *dr, const float *dy, const float *x,
                                           const float *w, const float *z, const float *mean,
                                           const float *invstd, const float *gamma,
                                           const float *beta, const float *r,
                                           const crnn_conv_block_desc *d, void *workspace,
                                           size_t workspace_bytes);

#ifdef __cplusplus
}
#endif
