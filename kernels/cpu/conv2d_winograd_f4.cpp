// Winograd F(4x4, 3x3) tile transforms (conv2d_winograd_tiles.h): 6x6 input tiles, 36 points; and
// F(2x4, 3x3): F(2x2)'s points along the height, these along the width, 4x6 input tiles, 24 points.
// Two point sets, their matrices in the tables below: kHalf, (0, -1, 1, 1/2, -2, inf), the one
// used (kF4), and Lavin & Gray's kStandard, (0, 1, -1, 2, -2, inf) (kF4Standard, for
// comparison): mixing 1/2 and -2 instead of +-2 is the better-conditioned choice Barabasz et al.
// (2020, "Error analysis and improving the accuracy of Winograd convolution") found; measured on
// the CRNN layers (benchmarks/winograd_f4_error.py), kHalf's max error vs float64 is 2-2.5x
// lower at the same speed. B^T solves A^T diag(G g) B^T d = g * d (correlation) for these A^T, G.
// The transforms: conv2d_winograd_mv.h's mm2d over these tables.
#include "conv2d_winograd_mv.h"

namespace crnn {
namespace cpu {
namespace winograd {
namespace {

// The matrices of one point set: G (6, 3), B^T (6, 6), A^T (4, 6).
struct Points {
  float G[6][3], BT[6][6], AT[4][6];
};
constexpr float k3 = 1.0f / 3, k15 = 1.0f / 15;
constexpr Points kStandard = {
    {{0.25f, 0, 0},
     {-1.0f / 6, -1.0f / 6, -1.0f / 6},
     {-1.0f / 6, 1.0f / 6, -1.0f / 6},
     {1.0f / 24, 1.0f / 12, 1.0f / 6},
     {1.0f / 24, -1.0f / 12, 1.0f / 6},
     {0, 0, 1}},
    {{4, 0, -5, 0, 1, 0},
     {0, -4, -4, 1, 1, 0},
     {0, 4, -4, -1, 1, 0},
     {0, -2, -1, 2, 1, 0},
     {0, 2, -1, -2, 1, 0},
     {0, 4, 0, -5, 0, 1}},
    {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};
constexpr Points kHalf = {// (0, -1, 1, 1/2, -2, inf)
                          {{1, 0, 0},
                           {-k3, k3, -k3},
                           {k3, k3, k3},
                           {-16 * k15, -8 * k15, -4 * k15},
                           {k15, -2 * k15, 4 * k15},
                           {0, 0, 1}},
                          {{1, -1.5f, -2, 1.5f, 1, 0},
                           {0, 1, -2.5f, 0.5f, 1, 0},
                           {0, -1, 0.5f, 2.5f, 1, 0},
                           {0, -2, -1, 2, 1, 0},
                           {0, 0.5f, -1, -0.5f, 1, 0},
                           {0, 1, -1.5f, -2, 1.5f, 1}},
                          {{1, 1, 1, 1, 1, 0},
                           {0, -1, 1, 0.5f, -2, 0},
                           {0, 1, 1, 0.25f, 4, 0},
                           {0, -1, 1, 0.125f, -8, 1}}};

template <const Points &P>
CRNN_SIMD_CLONES void weights(float *uo, int64_t OC, const float *g, int64_t C) {
  for (int64_t c0 = 0; c0 < C; c0 += 16) {  // the last block overlaps the one before it
    const int64_t c = c0 + 16 <= C ? c0 : C - 16;
    f16v a[3][3], u[6][6];
    for (int k = 0; k < 9; ++k) a[k / 3][k % 3] = load16(g + k * C + c);
    mm2d(u, a, P.G, P.G);
    for (int k = 0; k < 36; ++k) store16(uo + k * OC + c, u[k / 6][k % 6]);
  }
}

template <const Points &P>
CRNN_SIMD_CLONES void input(float *V, int64_t ldv, const float *xp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v d[6][6], v[6][6];
      for (int i = 0; i < 6; ++i) {  // d[i][j]: row 4 th + i, column 4 tw + j of each tile
        const float *r = xp + (4 * th + i) * p.Wps + 4 * tw;
        gather6(d[i], r);
      }
      mm2d(v, d, P.BT, P.BT);
      float *out = V + th * p.TW + tw;
      for (int k = 0; k < 36; ++k) store16(out + k * ldv, v[k / 6][k % 6]);
    }
}

template <const Points &P>
CRNN_SIMD_CLONES void output(float *yp, const float *M, int64_t ldm, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v m[6][6], y[4][4];
      for (int k = 0; k < 36; ++k) m[k / 6][k % 6] = load16(M + k * ldm + th * p.TW + tw);
      mm2d(y, m, P.AT, P.AT);
      for (int i = 0; i < 4; ++i) scatter4(yp + (4 * th + i) * p.W2s + 4 * tw, y[i]);
    }
}

template <const Points &P>
CRNN_SIMD_CLONES void output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v g[4][4], z[6][6];
      for (int i = 0; i < 4; ++i) gather4(g[i], gp + (4 * th + i) * p.W2s + 4 * tw);
      mm2d<6, 6, 4, 4, true>(z, g, P.AT, P.AT);
      for (int k = 0; k < 36; ++k) store16(Z + k * ldz + th * p.TW + tw, z[k / 6][k % 6]);
    }
}

template <const Points &P>
void weights_grad(float *dw, const float *u, int64_t stride) {
  float in[6][6], o[3][3];
  for (int k = 0; k < 36; ++k) in[k / 6][k % 6] = u[k * stride];
  mm2d<3, 3, 6, 6, true>(o, in, P.G, P.G);
  for (int k = 0; k < 9; ++k) dw[k] = o[k / 3][k % 3];
}

// F(2, 3) on the points (0, 1, -1, inf): conv2d_winograd_f2.cpp's matrices as tables.
struct Points2 {
  float G[4][3], BT[4][4], AT[2][4];
};
constexpr Points2 kTwo = {{{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}},
                          {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
                          {{1, 1, 1, 0}, {0, 1, -1, -1}}};

// F(2x4): point k = 6 i + j, i < 4 along the height (kTwo), j < 6 along the width (kHalf).
CRNN_SIMD_CLONES void weights_2x4(float *uo, int64_t OC, const float *g, int64_t C) {
  for (int64_t c0 = 0; c0 < C; c0 += 16) {  // the last block overlaps the one before it
    const int64_t c = c0 + 16 <= C ? c0 : C - 16;
    f16v a[3][3], u[4][6];
    for (int k = 0; k < 9; ++k) a[k / 3][k % 3] = load16(g + k * C + c);
    mm2d(u, a, kTwo.G, kHalf.G);
    for (int k = 0; k < 24; ++k) store16(uo + k * OC + c, u[k / 6][k % 6]);
  }
}

CRNN_SIMD_CLONES void input_2x4(float *V, int64_t ldv, const float *xp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v d[4][6], v[4][6];
      for (int i = 0; i < 4; ++i) gather6(d[i], xp + (2 * th + i) * p.Wps + 4 * tw);
      mm2d(v, d, kTwo.BT, kHalf.BT);
      float *out = V + th * p.TW + tw;
      for (int k = 0; k < 24; ++k) store16(out + k * ldv, v[k / 6][k % 6]);
    }
}

CRNN_SIMD_CLONES void output_2x4(float *yp, const float *M, int64_t ldm, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v m[4][6], y[2][4];
      for (int k = 0; k < 24; ++k) m[k / 6][k % 6] = load16(M + k * ldm + th * p.TW + tw);
      mm2d(y, m, kTwo.AT, kHalf.AT);
      for (int i = 0; i < 2; ++i) scatter4(yp + (2 * th + i) * p.W2s + 4 * tw, y[i]);
    }
}

CRNN_SIMD_CLONES void output_grad_2x4(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v g[2][4], z[4][6];
      for (int i = 0; i < 2; ++i) gather4(g[i], gp + (2 * th + i) * p.W2s + 4 * tw);
      mm2d<4, 6, 2, 4, true>(z, g, kTwo.AT, kHalf.AT);
      for (int k = 0; k < 24; ++k) store16(Z + k * ldz + th * p.TW + tw, z[k / 6][k % 6]);
    }
}

void weights_grad_2x4(float *dw, const float *u, int64_t stride) {
  float in[4][6], o[3][3];
  for (int k = 0; k < 24; ++k) in[k / 6][k % 6] = u[k * stride];
  mm2d<3, 3, 4, 6, true>(o, in, kTwo.G, kHalf.G);
  for (int k = 0; k < 9; ++k) dw[k] = o[k / 3][k % 3];
}

}  // namespace

// Fewer, larger tiles than F(2x2): a chunk of 256 tiles covers the output area of 1024 F(2x2)
// tiles with V and M 36 / 16 times as many floats per tile.
const Variant kF4 = {4,
                     4,
                     256,
                     1024,
                     weights<kHalf>,
                     input<kHalf>,
                     output<kHalf>,
                     output_grad<kHalf>,
                     weights_grad<kHalf>};
const Variant kF4Standard = {4,
                             4,
                             256,
                             1024,
                             weights<kStandard>,
                             input<kStandard>,
                             output<kStandard>,
                             output_grad<kStandard>,
                             weights_grad<kStandard>};

// Tiles per chunk: F(2x2)'s (measured on the 512-channel 2x50 layer: 256-512 alike, 192 slower).
const Variant kF2x4 = {
    2, 4, 512, 2048, weights_2x4, input_2x4, output_2x4, output_grad_2x4, weights_grad_2x4};

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
