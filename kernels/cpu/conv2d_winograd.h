// Winograd F(m x m, 3x3) convolution, m = 2 or 4, for the 3x3 stride-1 layers of the CRNN
// backbones (internal to conv2d.cpp). Each m x m output tile is A^T [(G g G^T) (.) (B^T d B)] A
// with d the (m + 2)^2 input tile: per tile and channel pair, 9 m^2 multiply-adds become
// T = (m + 2)^2 (F(2x2): 36 -> 16, F(4x4): 144 -> 36), done as T sgemms
// M[k] (C_out, P) = U[k] (C_out, C_in) . V[k] (C_in, P) over P tiles.
//
// Layouts: x (B, C_in, H, W), y (B, C_out, H_out, W_out) as in crnn/conv2d.h; U (T, C_out, C_in);
// per chunk of samples V (T, C_in, P_c) and M (T, C_out, P_c), tile p = (sample, th, tw)
// row-major, th < TH = ceil(H_out / m), tw < TW = ceil(W_out / m) (conv2d_winograd_tiles.h).
//
// The data gradient of a 3x3 stride-1 convolution is itself one: dx = conv(dy, w') with
// w'[c][o][i][j] = w[o][c][2 - i][2 - j] and padding 2 - p on each side, so the backward reuses
// the forward (weights transformed with flip_transpose).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "crnn/conv2d.h"

namespace crnn {
namespace cpu {
namespace winograd {

// True when this configuration runs through Winograd: 3x3, stride 1, dilation 1, one group,
// every pad <= 2 (so the data gradient is one too), and at least 16 input and output
// channels (below that the 16 sgemms are too thin and im2col wins, e.g. the RGB first layer).
bool eligible(const crnn_conv2d_desc *d);

// The output tiles (rows x columns) used for the convolution d (eligible) in all three passes
// (forward, data gradient, weight gradient). F(4x4) needs 1.8x fewer sgemm flops than F(2x2)
// (36 / 16 points for 16 / 4 outputs) but its transforms cost more and amplify float32 rounding
// more. The rule: F(4x4) where (a) it is faster: its sgemm flops, 36 per 4x4 tile, are at most 3/4
// of F(2x2)'s, 16 per 2x2 tile, counting the partial tiles at the plane's edges -- so not for
// H_out <= 2 (ResNet34_vd's s3 layers at 2x50: half of each 4-row tile wasted, measured 0.8x
// forward and 0.75x fwd+bwd there; 1.07-1.6x forward, 1.0-1.4x fwd+bwd on every other CRNN
// layer at B = 64, two runs), F(2x2) there; and (b) its error stays within the stated float32
// bound: max|err| <= 2e-5 max|ref| for the forward, data and weight gradient, measured <= 6.4e-6 on
// every CRNN layer, C up to 512 (F(2x2): <= 1e-6; F(4x4) on Lavin & Gray's points: <= 1.6e-5),
// so (b) holds wherever (a) does and adds no condition to the code
// (benchmarks/winograd_f4_error.py regenerates these figures). Where F(4x4) is not chosen,
// F(2x4) (2x4 tiles, 24 points, F(4x4)'s points along the width only) where its sgemm flops are
// at most 4/5 of F(2x2)'s: the 2-row layers (2x50: 312 vs 400 points per 100 outputs, and fewer
// transform operations per output too); its error lies between F(2x2)'s and F(4x4)'s.
// In bfloat16 matmul precision always F(2x2): the GEMMs round the transformed tiles, and F(2x2)'s
// error stays within 1.5x the operands' own rounding, F(2x4)'s grows to 2.8x, F(4x4)'s to ~6x.
// Test / benchmark knob (not an API): the environment variable CRNN_FAST_WINOGRAD forces the
// variant, read on every call (the workspace queries included): f2, f4, f2x4, or f4std (F(4x4) on
// Lavin & Gray's points instead of ours, conv2d_winograd_f4.cpp).
enum class Tiles { kF2x2, kF4x4, kF2x4 };
Tiles tiles(const crnn_conv2d_desc *d);

// Bytes of workspace forward() needs for d (U, plus V, M and two planes per thread).
size_t forward_workspace(const crnn_conv2d_desc *d, bool flip_transpose);

// y = conv(x, w) + b (ReLU if d->relu), or with flip_transpose the data gradient of the
// convolution d describes: x is then dy (B, C_out, H_out, W_out), y is dx (B, C_in, H, W), b is
// ignored and w is still the forward's (C_out, C_in, 3, 3).
// U_given: the forward's transformed weights (transform_forward_weights, for this d's variant),
// or NULL to transform w into the workspace (always so with flip_transpose).
// UP: the same weights packed for the narrow GEMM (pack_forward_panels), used instead of U when
// narrow(d) (the caller then may pass U_given NULL).
void forward(float *y, const float *x, const float *w, const float *b, const crnn_conv2d_desc *d,
             bool flip_transpose, void *workspace, const float *U_given = nullptr,
             const float *UP = nullptr);

// True when a forward of d runs its GEMMs through gemm_small_n.h's kernel given panels: float32
// precision, C_out a multiple of its panel rows, at most kSmallN tiles per GEMM (batch 1).
bool narrow(const crnn_conv2d_desc *d);
// UP (T, C_out / 32 panels of (C_in, 32)) from transform_forward_weights' U, same size.
void pack_forward_panels(float *UP, const float *U, const crnn_conv2d_desc *d);

// Weights transformed once for repeated forwards (inference): U (T, C_out, C_in) of the variant
// tiles(d) and the knob pick for d, transformed_weights_size(d) floats. `variant(d)` identifies
// that variant (equal for two descriptors whose transformed weights are interchangeable).
const void *variant(const crnn_conv2d_desc *d);
size_t transformed_weights_size(const crnn_conv2d_desc *d);
void transform_forward_weights(float *U, const float *w, const crnn_conv2d_desc *d);

// dw (C_out, C_in, 3, 3) of the convolution d given dy (B, C_out, H_out, W_out) and x.
size_t weight_gradient_workspace(const crnn_conv2d_desc *d);
void weight_gradient(float *dw, const float *dy, const float *x, const crnn_conv2d_desc *d,
                     void *workspace);

// The descriptor of the data-gradient convolution of d (channels swapped, padding 2 - p).
crnn_conv2d_desc data_gradient_desc(const crnn_conv2d_desc *d);

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
