// 2-D convolution forward and backward (crnn_fast kernel C API; backends: CPU).
// CPU engines: Winograd F(2x2, 3x3) for 3x3 stride-1 layers with >= 16 channels each side
// (kernels/cpu/conv2d_winograd.h: 2.25x fewer multiply-adds, all in 16 large sgemms), else im2col +
// one OpenBLAS sgemm per (unit of samples, group) (1x1 stride-1 unpadded layers: on x itself,
// no im2col). The bias and an optional ReLU are fused into the output pass; units run on the
// pool's threads.
//
// Layouts (NCHW, MindSpore's / PyTorch's Conv2d):
//   x (B, C_in, H, W); w (C_out, C_in / groups, kh, kw); b (C_out) or NULL;
//   y (B, C_out, H_out, W_out), H_out = (H + pad_t + pad_b - dil_h (kh - 1) - 1) / stride_h + 1.
// Padding is explicit (MindSpore's pad_mode is resolved by the caller, as in
// crnn_fast/reference/conv.py). Status: INVALID_VALUE for inconsistent sizes.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct crnn_conv2d_desc {
  int64_t B, C_in, H, W, C_out, kh, kw;
  int64_t stride_h, stride_w, pad_t, pad_b, pad_l, pad_r, dil_h, dil_w, groups;
  int32_t relu;         // 1: y = max(conv + b, 0)
  int32_t num_threads;  // CPU threads; <= 0: the pool default (CRNN_FAST_NUM_THREADS, cores)
  int32_t device;       // crnn_device_t (0: CPU)
  void *stream;         // device stream (NULL: default; ignored on the CPU)
} crnn_conv2d_desc;

int64_t crnn_conv2d_out_h(const crnn_conv2d_desc *d);
int64_t crnn_conv2d_out_w(const crnn_conv2d_desc *d);
size_t crnn_conv2d_forward_workspace_size(const crnn_conv2d_desc *d);  // bytes
crnn_status_t crnn_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b,
                                      const crnn_conv2d_desc *d, void *workspace,
                                      size_t workspace_bytes);

// Backward of the convolution (d->relu must be 0: apply the ReLU mask to dy first). Given
// dy (B, C_out, H_out, W_out), writes dx (B, C_in, H, W) (may be NULL), dw (C_out, C_in / groups,
// kh, kw) and db (C_out) (may be NULL). Winograd layers: dx is the Winograd convolution of dy
// with the flipped, transposed weights; dw = G^T (sum over tiles of Z V^T) G. Others, per unit:
// dpanel = w_g^T dy_g (sgemm) scattered back into dx (col2im); dw accumulated per thread as
// dy_g panel^T (sgemm) and summed at the end.
size_t crnn_conv2d_backward_workspace_size(const crnn_conv2d_desc *d);  // bytes
crnn_status_t crnn_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy,
                                       const float *x, const float *w, const crnn_conv2d_desc *d,
                                       void *workspace, size_t workspace_bytes);

#ifdef __cplusplus
}
#endif
