// MindSpore aot entry points of conv2d (thin adapters over the conv2d C API, crnn/conv2d.h).
//
// The configuration travels in shapes (see crnn_fast/ops/conv2d.py), so the bprop is stateless:
//   crnn_aot_conv2d_forward inputs: 0 x (B, C_in, H, W) float32, 1 w (C_out, C_in/g, kh, kw),
//     2 b (C_out,) or any 2-D stand-in for "no bias", 3 config of shape
//     (s_h, s_w, d_h, d_w, g, relu + 1), 4 pads of shape (pad_t + 1, pad_b + 1, pad_l + 1,
//     pad_r + 1); output 5 y = conv + b, or max(conv + b, 0) with relu = 1 (the kernel's epilogue).
//   crnn_aot_conv2d_backward inputs: 0 x, 1 w, 2 dy, 3 config, 4 pads; outputs 5 dx, 6 dw, 7 db.
//     It ignores the relu flag: the bprop masks dy by (y > 0) first.
#include "aot_conv.h"

#include "aot_util.h"
#include "check_conv.h"
#include "crnn/conv2d.h"

namespace crnn {
namespace aot {

crnn_conv2d_desc parse_conv2d(const Args &a, int config, int pads, bool forward) {
  a.expect(0, "x", "float32", 4, "(B, C_in, H, W)");
  a.expect(1, "w", "float32", 4, "(C_out, C_in / groups, kh, kw)");
  require(a.ndims[config] == 6 && (a.dim(config, 5) == 1 || a.dim(config, 5) == 2),
          "config must have shape (s_h, s_w, d_h, d_w, groups, relu + 1) with relu 0 or 1");
  require(a.ndims[pads] == 4, "pads must have shape (pad_t + 1, pad_b + 1, pad_l + 1, pad_r + 1)");
  crnn_conv2d_desc d{a.dim(0, 0),
                     a.dim(0, 1),
                     a.dim(0, 2),
                     a.dim(0, 3),
                     a.dim(1, 0),
                     a.dim(1, 2),
                     a.dim(1, 3),
                     a.dim(config, 0),
                     a.dim(config, 1),
                     a.dim(pads, 0) - 1,
                     a.dim(pads, 1) - 1,
                     a.dim(pads, 2) - 1,
                     a.dim(pads, 3) - 1,
                     a.dim(config, 2),
                     a.dim(config, 3),
                     a.dim(config, 4),
                     forward ? static_cast<int32_t>(a.dim(config, 5) - 1) : 0,
                     0,
                     CRNN_DEVICE_CPU,
                     nullptr};
  a.place(d);
  require_ok(check::conv2d(d, a.dim(1, 1), a.shape(0), a.shape(1)));
  require(crnn_conv2d_forward_workspace_size(&d) > 0,
          "invalid convolution: x " + a.shape(0) + ", w " + a.shape(1));
  if (forward) {
    require_finite(a, 0, "x");
    require_finite(a, 1, "w");
  }
  return d;
}

namespace {

crnn_conv2d_desc parse(const Args &a, int n_total, bool forward) {
  require(a.n == n_total,
          "expected " + std::to_string(n_total) + " tensors, got " + std::to_string(a.n));
  return parse_conv2d(a, 3, 4, forward);
}

}  // namespace
}  // namespace aot
}  // namespace crnn

CRNN_AOT_EXPORT int crnn_aot_conv2d_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                                            const char **dtypes, void *stream, void *) {
  using namespace crnn::aot;
  return guarded("conv2d_forward", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream};
    const crnn_conv2d_desc d = parse(a, 6, true);
    const bool has_bias = a.ndims[2] == 1;
    if (has_bias) {
      a.expect(2, "b", "float32", 1, "(C_out,)");
      a.expect_dims(2, "b", {d.C_out});
      require_finite(a, 2, "b");
    }
    a.expect(5, "y", "float32", 4, "");
    a.expect_dims(5, "y", {d.B, d.C_out, crnn_conv2d_out_h(&d), crnn_conv2d_out_w(&d)});
    const size_t ws = crnn_conv2d_forward_workspace_size(&d);
    check_status(crnn_conv2d_forward_f32(a.ptr<float>(5), a.ptr<float>(0), a.ptr<float>(1),
                                         has_bias ? a.ptr<float>(2) : nullptr, &d, scratch(ws), ws),
                 -1, "conv2d forward");
  });
}

CRNN_AOT_EXPORT int crnn_aot_conv2d_backward(int nparam, void **params, int *ndims,
                                             int64_t **shapes, const char **dtypes, void *stream,
                                             void *) {
  using namespace crnn::aot;
  return guarded("conv2d_backward", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream};
    const crnn_conv2d_desc d = parse(a, 8, false);
    a.expect(2, "dy", "float32", 4, "(B, C_out, H_out, W_out)");
    a.expect_dims(2, "dy", {d.B, d.C_out, crnn_conv2d_out_h(&d), crnn_conv2d_out_w(&d)});
    // A non-finite dy is a valid incoming gradient (a loss-scale overflow): it propagates into
    // dx / dw / db, where the train step's overflow check sees it. Rejecting it would fail the
    // step instead (GRAPH: MindSpore never runs that train graph again; PYNATIVE: the ops after
    // the failed bprop read its unallocated outputs and crash).
    a.expect_dims(5, "dx", {d.B, d.C_in, d.H, d.W});
    a.expect_dims(6, "dw", {d.C_out, d.C_in / d.groups, d.kh, d.kw});
    a.expect_dims(7, "db", {d.C_out});
    const size_t ws = crnn_conv2d_backward_workspace_size(&d);
    check_status(
        crnn_conv2d_backward_f32(a.ptr<float>(5), a.ptr<float>(6), a.ptr<float>(7), a.ptr<float>(2),
                                 a.ptr<float>(0), a.ptr<float>(1), &d, scratch(ws), ws),
        -1, "conv2d backward");
  });
}
