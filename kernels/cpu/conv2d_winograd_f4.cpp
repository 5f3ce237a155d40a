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

// The matrices of one point set for tiles of A points (F(A - 2, 3)): G (A, 3), B^T (A, A),
// A^T (A - 2, A).
template <int A>
struct Points {
  float G[A][3], BT[A][A], AT[A - 2][A];
};
constexpr float k3 = 1.0f / 3, k15 = 1.0f / 15;
constexpr Points<6> kStandard = {
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
constexpr Points<6> kHalf = {// (0, -1, 1, 1/2, -2, inf)
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

// F(2, 3) on the points (0, 1, -1, inf): conv2d_winograd_f2.cpp's matrices as tables.
constexpr Points<4> kTwo = {{{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}},
                            {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
                            {{1, 1, 1, 0}, {0, 1, -1, -1}}};

// The transforms of F(MH x 4, 3x3) with the point set H along the height (MH = 4 or 2) and W
// (F(4, 3)) along the width: point k = 6 i + j, i < AH = MH + 2, j < 6.
template <const auto &H>
constexpr int kAH = sizeof(H.BT) / sizeof(H.BT[0]);
template <const auto &H>
constexpr int kMH = kAH<H> - 2;

template <const auto &H, const auto &W>
CRNN_SIMD_CLONES void weights(float *uo, int64_t OC, const float *g, int64_t C) {
  constexpr int AH = kAH<H>;
  for (int64_t c0 = 0; c0 < C; c0 += 16) {  // the last block overlaps the one before it
    const int64_t c = c0 + 16 <= C ? c0 : C - 16;
    f16v a[3][3], u[AH][6];
    for (int k = 0; k < 9; ++k) a[k / 3][k % 3] = load16(g + k * C + c);
    mm2d(u, a, H.G, W.G);
    for (int k = 0; k < AH * 6; ++k) store16(uo + k * OC + c, u[k / 6][k % 6]);
  }
}

template <const auto &H, const auto &W>
CRNN_SIMD_CLONES void input(float *V, int64_t ldv, const float *xp, const Plan &p) {
  constexpr int AH = kAH<H>, MH = kMH<H>;
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v d[AH][6], v[AH][6];  // d[i][j]: row MH th + i, column 4 tw + j of each tile
      for (int i = 0; i < AH; ++i) gather6(d[i], xp + (MH * th + i) * p.Wps + 4 * tw);
      mm2d(v, d, H.BT, W.BT);
      float *out = V + th * p.TW + tw;
      for (int k = 0; k < AH * 6; ++k) store16(out + k * ldv, v[k / 6][k % 6]);
    }
}

template <const auto &H, const auto &W>
CRNN_SIMD_CLONES void output(float *yp, const float *M, int64_t ldm, const Plan &p) {
  constexpr int AH = kAH<H>, MH = kMH<H>;
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v m[AH][6], y[MH][4];
      for (int k = 0; k < AH * 6; ++k) m[k / 6][k % 6] = load16(M + k * ldm + th * p.TW + tw);
      mm2d(y, m, H.AT, W.AT);
      for (int i = 0; i < MH; ++i) scatter4(yp + (MH * th + i) * p.W2s + 4 * tw, y[i]);
    }
}

template <const auto &H, const auto &W>
CRNN_SIMD_CLONES void output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  constexpr int AH = kAH<H>, MH = kMH<H>;
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v g[MH][4], z[AH][6];
      for (int i = 0; i < MH; ++i) gather4(g[i], gp + (MH * th + i) * p.W2s + 4 * tw);
      mm2d<AH, 6, MH, 4, true>(z, g, H.AT, W.AT);
      for (int k = 0; k < AH * 6; ++k) store16(Z + k * ldz + th * p.TW + tw, z[k / 6][k % 6]);
    }
}

template <const auto &H, const auto &W>
void weights_grad(float *dw, const float *u, int64_t stride) {
  constexpr int AH = kAH<H>;
  float in[AH][6], o[3][3];
  for (int k = 0; k < AH * 6; ++k) in[k / 6][k % 6] = u[k * stride];
  mm2d<3, 3, AH, 6, true>(o, in, H.G, W.G);
  for (int k = 0; k < 9; ++k) dw[k] = o[k / 3][k % 3];
}

template <const auto &H, const auto &W>
constexpr Variant variant(int64_t target_tiles, int64_t target_tiles_wgrad) {
  return {kMH<H>,
          4,
          target_tiles,
          target_tiles_wgrad,
          weights<H, W>,
          input<H, W>,
          output<H, W>,
          output_grad<H, W>,
          weights_grad<H, W>};
}

}  // namespace

// Fewer, larger tiles than F(2x2): a chunk of 256 tiles covers the output area of 1024 F(2x2)
// tiles with V and M 36 / 16 times as many floats per tile. F(2x4): F(2x2)'s (measured on the
// 512-channel 2x50 layer: 256-512 alike, 192 slower).
const Variant kF4 = variant<kHalf, kHalf>(256, 1024);
const Variant kF4Standard = variant<kStandard, kStandard>(256, 1024);
const Variant kF2x4 = variant<kTwo, kHalf>(512, 2048);

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
