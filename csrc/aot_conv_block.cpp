// MindSpore aot entry points of the training conv block (thin adapters over crnn/conv_block.h;
// the Python side is crnn_fast/ops/conv_block.py). The configuration travels in shapes, as for
// conv2d (aot_conv.h), and eps / momentum as the values of a (2,) float32 tensor:
//   crnn_aot_conv_block_forward inputs: 0 x (B, C_in, H, W), 1 w (C_out, C_in / g, kh, kw),
//     2 b (C_out,) or a 2-D "no bias" stand-in, 3 gamma, 4 beta, 5 moving_mean, 6 moving_var
//     (C_out,) each (any values without batch norm), 7 r (B, C_out, H_out, W_out) or a 2-D
//     stand-in, 8 config and 9 pads (conv2d's), 10 block (batch_norm + 1, residual + 1,
//     relu + 1, pool_same + 1), 11 pool (kh + 1, kw + 1, s_h + 1, s_w + 1, p_t + 1, p_b + 1,
//     p_l + 1, p_r + 1), kh = 0 for none, 12 hyper (eps, momentum) float32;
//     outputs 13 y, 14 z (B, C_out, H_out, W_out), 15 mean, 16 invstd, 17 moving_mean and
//     18 moving_var after the update (C_out,) each (zero without batch norm).
//   crnn_aot_conv_block_backward inputs: 0 x, 1 w, 2 gamma, 3 beta, 4 r, 5 z, 6 mean, 7 invstd,
//     8 dy, 9 config, 10 pads, 11 block, 12 pool, 13 hyper; outputs 14 dx, 15 dw, 16 db,
//     17 dgamma, 18 dbeta (C_out,) (zero without batch norm), 19 dr (r's shape; zero without a
//     residual).
#include <string.h>

#include <vector>

#include "aot_conv.h"
#include "aot_util.h"
#include "check_conv.h"
#include "crnn/conv_block.h"

namespace crnn {
namespace aot {
namespace {

constexpr int kFwdTensors = 19, kBwdTensors = 20;

// Indices of the block's tensors in one entry's argument list.
struct Slots {
  int config, pads, block, pool, hyper;
};

// The block of an entry with n_total tensors, its configuration in the slots s.
crnn_conv_block_desc parse_block(const Args &a, int n_total, const Slots &s) {
  require(a.n == n_total,
          "expected " + std::to_string(n_total) + " tensors, got " + std::to_string(a.n));
  crnn_conv_block_desc d{};
  d.conv = parse_conv2d(a, s.config, s.pads, false);
  require(a.dim(s.config, 5) == 1, "the block's ReLU goes in `block`, not in `config`");
  require(a.ndims[s.block] == 4 && a.dim(s.block, 0) <= 2 && a.dim(s.block, 1) <= 2 &&
              a.dim(s.block, 2) <= 2 && a.dim(s.block, 3) <= 2,
          "block must have shape (batch_norm + 1, residual + 1, relu + 1, pool_same + 1), each "
          "flag 0 or 1");
  require(a.ndims[s.pool] == 8,
          "pool must have shape (kh + 1, kw + 1, s_h + 1, s_w + 1, "
          "p_t + 1, p_b + 1, p_l + 1, p_r + 1)");
  a.expect(s.hyper, "hyper", "float32", 1, "(eps, momentum)");
  a.expect_dims(s.hyper, "hyper", {2});
  d.batch_norm = static_cast<int32_t>(a.dim(s.block, 0) - 1);
  d.residual = static_cast<int32_t>(a.dim(s.block, 1) - 1);
  d.relu = static_cast<int32_t>(a.dim(s.block, 2) - 1);
  d.pool_same = static_cast<int32_t>(a.dim(s.block, 3) - 1);
  int64_t *pool[8] = {&d.pool_kh, &d.pool_kw, &d.pool_sh, &d.pool_sw,
                      &d.pool_pt, &d.pool_pb, &d.pool_pl, &d.pool_pr};
  for (int i = 0; i < 8; ++i) *pool[i] = a.dim(s.pool, i) - 1;
  std::vector<float> copy;
  const float *hyper = a.host<float>(s.hyper, 2, copy);
  d.eps = hyper[0], d.momentum = hyper[1];
  require_ok(check::conv_block(d));
  return d;
}

void expect_channels(const Args &a, int i, const char *name, int64_t C) {
  a.expect(i, name, "float32", 1, "(C_out,)");
  a.expect_dims(i, name, {C});
}

}  // namespace
}  // namespace aot
}  // namespace crnn

CRNN_AOT_EXPORT int crnn_aot_conv_block_forward(int nparam, void **params, int *ndims,
                                                int64_t **shapes, const char **dtypes, void *stream,
                                                void *) {
  using namespace crnn::aot;
  return guarded("conv_block_forward", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream};
    const crnn_conv_block_desc d = parse_block(a, kFwdTensors, Slots{8, 9, 10, 11, 12});
    const int64_t C = d.conv.C_out, Ho = crnn_conv2d_out_h(&d.conv),
                  Wo = crnn_conv2d_out_w(&d.conv);
    require_finite(a, 0, "x");
    require_finite(a, 1, "w");
    const bool has_bias = a.ndims[2] == 1;
    if (has_bias) {
      expect_channels(a, 2, "b", C);
      require_finite(a, 2, "b");
    }
    const char *names[4] = {"gamma", "beta", "moving_mean", "moving_var"};
    for (int i = 0; i < 4; ++i) {
      expect_channels(a, 3 + i, names[i], C);
      if (d.batch_norm) require_finite(a, 3 + i, names[i]);
    }
    if (d.residual) {
      a.expect(7, "r", "float32", 4, "(B, C_out, H_out, W_out)");
      a.expect_dims(7, "r", {d.conv.B, C, Ho, Wo});
      require_finite(a, 7, "r");
    }
    a.expect_dims(13, "y", {d.conv.B, C, crnn_conv_block_out_h(&d), crnn_conv_block_out_w(&d)});
    a.expect_dims(14, "z", {d.conv.B, C, Ho, Wo});
    for (int i = 15; i < 19; ++i) a.expect_dims(i, "statistics", {C});
    float *mm = a.ptr<float>(17), *mv = a.ptr<float>(18);
    memcpy(mm, a.ptr<float>(5), sizeof(float) * C);
    memcpy(mv, a.ptr<float>(6), sizeof(float) * C);
    if (!d.batch_norm) {
      memset(a.ptr<float>(15), 0, sizeof(float) * C);
      memset(a.ptr<float>(16), 0, sizeof(float) * C);
    }
    const size_t ws = crnn_conv_block_forward_workspace_size(&d);
    check_status(
        crnn_conv_block_forward_f32(
            a.ptr<float>(13), a.ptr<float>(14), a.ptr<float>(15), a.ptr<float>(16), mm, mv,
            a.ptr<float>(0), a.ptr<float>(1), has_bias ? a.ptr<float>(2) : nullptr, a.ptr<float>(3),
            a.ptr<float>(4), d.residual ? a.ptr<float>(7) : nullptr, &d, scratch(ws), ws),
        -1, "conv block forward");
  });
}

CRNN_AOT_EXPORT int crnn_aot_conv_block_backward(int nparam, void **params, int *ndims,
                                                 int64_t **shapes, const char **dtypes,
                                                 void *stream, void *) {
  using namespace crnn::aot;
  return guarded("conv_block_backward", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream};
    const crnn_conv_block_desc d = parse_block(a, kBwdTensors, Slots{9, 10, 11, 12, 13});
    const int64_t C = d.conv.C_out, Ho = crnn_conv2d_out_h(&d.conv),
                  Wo = crnn_conv2d_out_w(&d.conv);
    const int64_t B = d.conv.B;
    expect_channels(a, 2, "gamma", C);
    expect_channels(a, 3, "beta", C);
    if (d.residual) a.expect_dims(4, "r", {B, C, Ho, Wo});
    a.expect_dims(5, "z", {B, C, Ho, Wo});
    expect_channels(a, 6, "mean", C);
    expect_channels(a, 7, "invstd", C);
    // a non-finite dy propagates (a loss-scale overflow; see crnn_aot_conv2d_backward)
    a.expect_dims(8, "dy", {B, C, crnn_conv_block_out_h(&d), crnn_conv_block_out_w(&d)});
    a.expect_dims(14, "dx", {B, d.conv.C_in, d.conv.H, d.conv.W});
    a.expect_dims(15, "dw", {C, d.conv.C_in / d.conv.groups, d.conv.kh, d.conv.kw});
    for (int i = 16; i < 19; ++i) a.expect_dims(i, "db / dgamma / dbeta", {C});
    if (!d.batch_norm) {
      memset(a.ptr<float>(17), 0, sizeof(float) * C);
      memset(a.ptr<float>(18), 0, sizeof(float) * C);
    }
    if (!d.residual) memset(a.ptr<float>(19), 0, sizeof(float) * a.numel(19));
    const size_t ws = crnn_conv_block_backward_workspace_size(&d);
    check_status(crnn_conv_block_backward_f32(
                     a.ptr<float>(14), a.ptr<float>(15), a.ptr<float>(16), a.ptr<float>(17),
                     a.ptr<float>(18), d.residual ? a.ptr<float>(19) : nullptr, a.ptr<float>(8),
                     a.ptr<float>(0), a.ptr<float>(1), a.ptr<float>(5), a.ptr<float>(6),
                     a.ptr<float>(7), a.ptr<float>(2), a.ptr<float>(3),
                     d.residual ? a.ptr<float>(4) : nullptr, &d, scratch(ws), ws),
                 -1, "conv block backward");
  });
}
