// One validation of conv2d's arguments (see check_conv.h).
#include "check_conv.h"

namespace crnn {
namespace check {

Check conv2d(const crnn_conv2d_desc &d, int64_t w_c_in, const std::string &x_shape,
             const std::string &w_shape) {
  auto fail = [](std::string msg) { return Check{std::move(msg)}; };
  auto str = [](int64_t v) { return std::to_string(v); };
  if (d.C_out < 1 || d.kh < 1 || d.kw < 1)
    return fail("w must have C_out, kh, kw >= 1, got shape " + w_shape +
                " (layout (C_out, C_in / groups, kh, kw))");
  if (d.groups < 1) return fail("groups must be >= 1, got " + str(d.groups));
  const int64_t stride[2] = {d.stride_h, d.stride_w}, dilation[2] = {d.dil_h, d.dil_w};
  for (int i = 0; i < 2; ++i) {
    if (stride[i] < 1) return fail("stride must be >= 1, got " + str(stride[i]));
    if (dilation[i] < 1) return fail("dilation must be >= 1, got " + str(dilation[i]));
  }
  for (int64_t p : {d.pad_t, d.pad_b, d.pad_l, d.pad_r})
    if (p < 0) return fail("padding must be >= 0, got " + str(p));
  if (d.B < 1 || d.C_in < 1 || d.H < 1 || d.W < 1)
    return fail("x must have B, C_in, H, W >= 1, got shape " + x_shape);
  if (d.C_in % d.groups != 0 || d.C_out % d.groups != 0)
    return fail("groups = " + str(d.groups) + " must divide C_in = " + str(d.C_in) +
                " and C_out = " + str(d.C_out));
  if (w_c_in != d.C_in / d.groups)
    return fail("w must have shape[1] == C_in / groups = " + str(d.C_in / d.groups) +
                ", got shape " + w_shape);
  if (crnn_conv2d_out_h(&d) < 1 || crnn_conv2d_out_w(&d) < 1)
    return fail("the kernel " + w_shape + " does not fit the padded input " + x_shape);
  return ok();
}

Check conv_block(const crnn_conv_block_desc &d) {
  auto fail = [](std::string msg) { return Check{std::move(msg)}; };
  auto str = [](int64_t v) { return std::to_string(v); };
  const int64_t ho = crnn_conv2d_out_h(&d.conv), wo = crnn_conv2d_out_w(&d.conv);
  if (d.batch_norm) {
    if (!(d.eps > 0.0f)) return fail("eps must be > 0, got " + std::to_string(d.eps));
    if (!(d.momentum >= 0.0f && d.momentum <= 1.0f))
      return fail("momentum must be in [0, 1], got " + std::to_string(d.momentum));
    if (d.conv.B * ho * wo < 2)
      return fail(
          "batch norm in training needs more than 1 value per channel, got B * H_out * "
          "W_out = " +
          str(d.conv.B * ho * wo));
  }
  if (d.pool_kh <= 0) return ok();
  if (d.residual) return fail("a residual block cannot have a pool");
  if (d.pool_kw < 1 || d.pool_sh < 1 || d.pool_sw < 1)
    return fail("pool window and strides must be >= 1, got window (" + str(d.pool_kh) + ", " +
                str(d.pool_kw) + "), strides (" + str(d.pool_sh) + ", " + str(d.pool_sw) + ")");
  int64_t pads[4];
  crnn_conv_block_pool_pads(&d, pads);
  for (int i = 0; i < 4; ++i) {
    const int64_t k = i < 2 ? d.pool_kh : d.pool_kw;
    if (pads[i] < 0 || pads[i] >= k)
      return fail("pool padding must be in [0, window), got " + str(pads[i]) + " for window " +
                  str(k));
  }
  if (crnn_conv_block_out_h(&d) < 1 || crnn_conv_block_out_w(&d) < 1)
    return fail("the pool window does not fit the conv output (" + str(ho) + ", " + str(wo) + ")");
  return ok();
}

}  // namespace check
}  // namespace crnn
