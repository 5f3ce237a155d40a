// Winograd F(4x4, 3x3) tile transforms (conv2d_winograd_tiles.h): 6x6 input tiles, 36 points.
// Two point sets, their matrices in the tables below: kHalf, (0, -1, 1, 1/2, -2, inf), the one
// used (kF4), and Lavin & Gray's kStandard, (0, 1, -1, 2, -2, inf) (kF4Standard, for
// comparison). Measured on the CRNN layers (benchmarks/winograd_f4_error.py), kHalf's max error
// vs float64 is 2-2.5x lower (its transforms' entries spread less: 1/2 and 2 instead of 2 and
// 4, 8) at the same speed. The 1-D transforms are one constant-table matrix-vector product (mv);
// the 2-D transform applies it along columns, then along rows.
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
    f16v t[3][6], col[6], u[6];
    for (int j = 0; j < 3; ++j) {  // t[j] = G g[:, j]
      const f16v a[3] = {load16(g + j * C + c), load16(g + (3 + j) * C + c),
                         load16(g + (6 + j) * C + c)};
      mv<6, 3, false>(col, a, P.G);
      for (int i = 0; i < 6; ++i) t[j][i] = col[i];
    }
    for (int i = 0; i < 6; ++i) {  // row i of (G g) G^T
      const f16v a[3] = {t[0][i], t[1][i], t[2][i]};
      mv<6, 3, false>(u, a, P.G);
      for (int j = 0; j < 6; ++j) store16(uo + (6 * i + j) * OC + c, u[j]);
    }
  }
}

template <const Points &P>
CRNN_SIMD_CLONES void input(float *V, int64_t ldv, const float *xp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v d[6][6], t[6][6], col[6], v[6];
      for (int i = 0; i < 6; ++i) {  // d[i][j]: row 4 th + i, column 4 tw + j of each tile
        const float *r = xp + (4 * th + i) * p.Wps + 4 * tw;
        f16v e[4];
        gather4(d[i], r);
        gather4(e, r + 4);
        d[i][4] = e[0], d[i][5] = e[1];
      }
      for (int j = 0; j < 6; ++j) {  // t[.][j] = B^T d[.][j]
        for (int i = 0; i < 6; ++i) col[i] = d[i][j];
        mv<6, 6, false>(v, col, P.BT);
        for (int i = 0; i < 6; ++i) t[i][j] = v[i];
      }
      float *out = V + th * p.TW + tw;
      for (int i = 0; i < 6; ++i) {
        mv<6, 6, false>(v, t[i], P.BT);
        for (int j = 0; j < 6; ++j) store16(out + (6 * i + j) * ldv, v[j]);
      }
    }
}

template <const Points &P>
CRNN_SIMD_CLONES void output(float *yp, const float *M, int64_t ldm, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      const float *m = M + th * p.TW + tw;
      f16v t[4][6], col[6], y[4];
      for (int j = 0; j < 6; ++j) {  // t[.][j] = A^T m[.][j]
        for (int i = 0; i < 6; ++i) col[i] = load16(m + (6 * i + j) * ldm);
        mv<4, 6, false>(y, col, P.AT);
        for (int i = 0; i < 4; ++i) t[i][j] = y[i];
      }
      for (int i = 0; i < 4; ++i) {
        mv<4, 6, false>(y, t[i], P.AT);
        scatter4(yp + (4 * th + i) * p.W2s + 4 * tw, y);
      }
    }
}

template <const Points &P>
CRNN_SIMD_CLONES void output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v g[4][4], t[6][4], col[4], z[6];
      for (int i = 0; i < 4; ++i) gather4(g[i], gp + (4 * th + i) * p.W2s + 4 * tw);
      for (int j = 0; j < 4; ++j) {  // t[.][j] = A g[.][j]
        for (int i = 0; i < 4; ++i) col[i] = g[i][j];
        mv<6, 4, true>(z, col, P.AT);
        for (int i = 0; i < 6; ++i) t[i][j] = z[i];
      }
      float *out = Z + th * p.TW + tw;
      for (int i = 0; i < 6; ++i) {
        mv<6, 4, true>(z, t[i], P.AT);
        for (int j = 0; j < 6; ++j) store16(out + (6 * i + j) * ldz, z[j]);
      }
    }
}

template <const Points &P>
void weights_grad(float *dw, const float *u) {
  float t[6][3];  // t^T = G^T u: t[j] = G^T u[:, j]
  for (int j = 0; j < 6; ++j) {
    const float col[6] = {u[j], u[6 + j], u[12 + j], u[18 + j], u[24 + j], u[30 + j]};
    mv<3, 6, true>(t[j], col, P.G);
  }
  for (int r = 0; r < 3; ++r) {
    const float row[6] = {t[0][r], t[1][r], t[2][r], t[3][r], t[4][r], t[5][r]};
    mv<3, 6, true>(dw + 3 * r, row, P.G);
  }
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
