// Winograd F(4x4, 3x3) tile transforms (conv2d_winograd_tiles.h): 6x6 input tiles, 36 points.
// Two point sets, their matrices in the tables below: kHalf, (0, -1, 1, 1/2, -2, inf), the one
// used (kF4), and Lavin & Gray's kStandard, (0, 1, -1, 2, -2, inf) (kF4Standard, for
// comparison): mixing 1/2 and -2 instead of +-2 is the better-conditioned choice Barabasz et al.
// (2020, "Error analysis and improving the accuracy of Winograd convolution") found; measured on
// the CRNN layers (benchmarks/winograd_f4_error.py), kHalf's max error vs float64 is 2-2.5x
// lower at the same speed. B^T solves A^T diag(G g) B^T d = g * d (correlation) for these A^T, G.
// The 1-D transforms are one constant-table matrix-vector product (mv); the 2-D transform
// applies it along columns, then along rows.
#include "conv2d_winograd_tiles.h"
#include "cpu_common.h"

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

// o (R) = M in (K), or M^T in with Tr (M (K, R) then); M's zeros and ones cost nothing once
// the loops are unrolled over the constant table.
template <int R, int K, bool Tr, typename V, int MR, int MC>
CRNN_CPU_INLINE void mv(V *o, const V *in, const float (&M)[MR][MC]) {
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    V acc = in[0] * 0.0f;
    bool first = true;
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) {
      const float c = Tr ? M[k][i] : M[i][k];
      if (c == 0.0f) continue;
      const V term = c == 1.0f ? in[k] : c == -1.0f ? -in[k] : c * in[k];
      acc = first ? term : acc + term;
      first = false;
    }
    o[i] = acc;
  }
}

// o (R, R) = M in M^T for in (K, K) (M^T in M with Tr): the 1-D transform along columns, then
// along rows.
template <int R, int K, bool Tr = false, typename V, int MR, int MC>
CRNN_CPU_INLINE void mm2d(V (&o)[R][R], const V (&in)[K][K], const float (&M)[MR][MC]) {
  V t[R][K], col[K], r[R];
#pragma GCC unroll 8
  for (int j = 0; j < K; ++j) {
    for (int i = 0; i < K; ++i) col[i] = in[i][j];
    mv<R, K, Tr>(r, col, M);
    for (int i = 0; i < R; ++i) t[i][j] = r[i];
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) mv<R, K, Tr>(o[i], t[i], M);
}

// d[j][t] = r[4 t + j] for 16 tiles t, j < 4 (reads r[0, 64)).
CRNN_CPU_INLINE void gather4(f16v *d, const float *r) {
  const f16v a0 = load16(r), a1 = load16(r + 16), a2 = load16(r + 32), a3 = load16(r + 48);
  const f16v e01 = __builtin_shuffle(a0, a1, kEven), o01 = __builtin_shuffle(a0, a1, kOdd);
  const f16v e23 = __builtin_shuffle(a2, a3, kEven), o23 = __builtin_shuffle(a2, a3, kOdd);
  d[0] = __builtin_shuffle(e01, e23, kEven), d[2] = __builtin_shuffle(e01, e23, kOdd);
  d[1] = __builtin_shuffle(o01, o23, kEven), d[3] = __builtin_shuffle(o01, o23, kOdd);
}

// r[4 t + j] = e[j][t] for 16 tiles t, j < 4 (writes r[0, 64)).
constexpr i16v kPairLo = {0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23};
constexpr i16v kPairHi = kPairLo + 8;
CRNN_CPU_INLINE void scatter4(float *r, const f16v *e) {
  const f16v lo01 = __builtin_shuffle(e[0], e[1], kLo), hi01 = __builtin_shuffle(e[0], e[1], kHi);
  const f16v lo23 = __builtin_shuffle(e[2], e[3], kLo), hi23 = __builtin_shuffle(e[2], e[3], kHi);
  store16(r, __builtin_shuffle(lo01, lo23, kPairLo));
  store16(r + 16, __builtin_shuffle(lo01, lo23, kPairHi));
  store16(r + 32, __builtin_shuffle(hi01, hi23, kPairLo));
  store16(r + 48, __builtin_shuffle(hi01, hi23, kPairHi));
}

template <const Points &P>
CRNN_SIMD_CLONES void weights(float *uo, int64_t OC, const float *g, int64_t C) {
  for (int64_t c0 = 0; c0 < C; c0 += 16) {  // the last block overlaps the one before it
    const int64_t c = c0 + 16 <= C ? c0 : C - 16;
    f16v a[3][3], u[6][6];
    for (int k = 0; k < 9; ++k) a[k / 3][k % 3] = load16(g + k * C + c);
    mm2d(u, a, P.G);
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
        f16v e[4];
        gather4(d[i], r);
        gather4(e, r + 4);
        d[i][4] = e[0], d[i][5] = e[1];
      }
      mm2d(v, d, P.BT);
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
      mm2d(y, m, P.AT);
      for (int i = 0; i < 4; ++i) scatter4(yp + (4 * th + i) * p.W2s + 4 * tw, y[i]);
    }
}

template <const Points &P>
CRNN_SIMD_CLONES void output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v g[4][4], z[6][6];
      for (int i = 0; i < 4; ++i) gather4(g[i], gp + (4 * th + i) * p.W2s + 4 * tw);
      mm2d<6, 4, true>(z, g, P.AT);
      for (int k = 0; k < 36; ++k) store16(Z + k * ldz + th * p.TW + tw, z[k / 6][k % 6]);
    }
}

template <const Points &P>
void weights_grad(float *dw, const float *u, int64_t stride) {
  float in[6][6], o[3][3];
  for (int k = 0; k < 36; ++k) in[k / 6][k % 6] = u[k * stride];
  mm2d<3, 6, true>(o, in, P.G);
  for (int k = 0; k < 9; ++k) dw[k] = o[k / 3][k % 3];
}

}  // namespace

// Fewer, larger tiles than F(2x2): a chunk of 256 tiles covers the output area of 1024 F(2x2)
// tiles with V and M 36 / 16 times as many floats per tile.
const Variant kF4 = {4,
                     256,
                     1024,
                     weights<kHalf>,
                     input<kHalf>,
                     output<kHalf>,
                     output_grad<kHalf>,
                     weights_grad<kHalf>};
const Variant kF4Standard = {4,
                             256,
                             1024,
                             weights<kStandard>,
                             input<kStandard>,
                             output<kStandard>,
                             output_grad<kStandard>,
                             weights_grad<kStandard>};

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
