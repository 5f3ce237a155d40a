// Winograd F(4x4, 3x3) tile transforms (conv2d_winograd_tiles.h): 6x6 input tiles, 36 points,
// Lavin & Gray's points (0, 1, -1, 2, -2, inf):
//   G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6],
//        [1/24, -1/12, 1/6], [0, 0, 1]]
//   B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
//          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
//   A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
// Each 1-D transform below applies one of these matrices to 6 (or 3, 4) vectors; the 2-D
// transform applies it along rows, then along columns.
#include "conv2d_winograd_tiles.h"
#include "cpu_common.h"

namespace crnn {
namespace cpu {
namespace winograd {
namespace {

// o (6) = G a (3)
CRNN_CPU_INLINE void g_1d(f16v *o, f16v a0, f16v a1, f16v a2) {
  const f16v s = a0 + a2, q = a0 * (1.0f / 24) + a2 * (1.0f / 6), r = a1 * (1.0f / 12);
  o[0] = a0 * 0.25f, o[1] = (s + a1) * (-1.0f / 6), o[2] = (s - a1) * (-1.0f / 6);
  o[3] = q + r, o[4] = q - r, o[5] = a2;
}

// o (6) = B^T d (6)
CRNN_CPU_INLINE void bt_1d(f16v *o, const f16v *d) {
  const f16v p = d[4] - d[2], q = 2.0f * (d[3] - d[1]);
  o[0] = d[4] + 4.0f * d[0] - 5.0f * d[2];
  o[1] = (d[3] + d[4]) - 4.0f * (d[1] + d[2]);
  o[2] = (d[4] - d[3]) + 4.0f * (d[1] - d[2]);
  o[3] = p + q, o[4] = p - q;
  o[5] = d[5] + 4.0f * d[1] - 5.0f * d[3];
}

// o (4) = A^T m (6)
CRNN_CPU_INLINE void at_1d(f16v *o, const f16v *m) {
  const f16v a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
  o[0] = m[0] + a + c, o[1] = b + 2.0f * d, o[2] = a + 4.0f * c, o[3] = b + 8.0f * d + m[5];
}

// o (6) = A g (4)
CRNN_CPU_INLINE void a_1d(f16v *o, const f16v *g) {
  const f16v s = g[0] + g[2], t = g[1] + g[3], q = g[0] + 4.0f * g[2];
  const f16v r = 2.0f * g[1] + 8.0f * g[3];
  o[0] = g[0], o[1] = s + t, o[2] = s - t, o[3] = q + r, o[4] = q - r, o[5] = g[3];
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

CRNN_SIMD_CLONES
void weights(float *uo, int64_t OC, const float *g, int64_t C) {
  for (int64_t c0 = 0; c0 < C; c0 += 16) {  // the last block overlaps the one before it
    const int64_t c = c0 + 16 <= C ? c0 : C - 16;
    f16v t[3][6], col[6], u[6];
    for (int j = 0; j < 3; ++j) {  // t[j] = G g[:, j]
      g_1d(col, load16(g + j * C + c), load16(g + (3 + j) * C + c), load16(g + (6 + j) * C + c));
      for (int i = 0; i < 6; ++i) t[j][i] = col[i];
    }
    for (int i = 0; i < 6; ++i) {  // row i of (G g) G^T
      g_1d(u, t[0][i], t[1][i], t[2][i]);
      for (int j = 0; j < 6; ++j) store16(uo + (6 * i + j) * OC + c, u[j]);
    }
  }
}

CRNN_SIMD_CLONES
void input(float *V, int64_t ldv, const float *xp, const Plan &p) {
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
        bt_1d(v, col);
        for (int i = 0; i < 6; ++i) t[i][j] = v[i];
      }
      float *out = V + th * p.TW + tw;
      for (int i = 0; i < 6; ++i) {
        bt_1d(v, t[i]);
        for (int j = 0; j < 6; ++j) store16(out + (6 * i + j) * ldv, v[j]);
      }
    }
}

CRNN_SIMD_CLONES
void output(float *yp, const float *M, int64_t ldm, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      const float *m = M + th * p.TW + tw;
      f16v t[4][6], col[6], y[4];
      for (int j = 0; j < 6; ++j) {  // t[.][j] = A^T m[.][j]
        for (int i = 0; i < 6; ++i) col[i] = load16(m + (6 * i + j) * ldm);
        at_1d(y, col);
        for (int i = 0; i < 4; ++i) t[i][j] = y[i];
      }
      for (int i = 0; i < 4; ++i) {
        at_1d(y, t[i]);
        scatter4(yp + (4 * th + i) * p.W2s + 4 * tw, y);
      }
    }
}

CRNN_SIMD_CLONES
void output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v g[4][4], t[6][4], col[4], z[6];
      for (int i = 0; i < 4; ++i) gather4(g[i], gp + (4 * th + i) * p.W2s + 4 * tw);
      for (int j = 0; j < 4; ++j) {  // t[.][j] = A g[.][j]
        for (int i = 0; i < 4; ++i) col[i] = g[i][j];
        a_1d(z, col);
        for (int i = 0; i < 6; ++i) t[i][j] = z[i];
      }
      float *out = Z + th * p.TW + tw;
      for (int i = 0; i < 6; ++i) {
        a_1d(z, t[i]);
        for (int j = 0; j < 6; ++j) store16(out + (6 * i + j) * ldz, z[j]);
      }
    }
}

// o (3) = G^T u (6), u and o `stride` floats apart.
inline void gt_1d(float *o, const float *u, int stride) {
  const float u1 = u[stride], u2 = u[2 * stride], u3 = u[3 * stride], u4 = u[4 * stride];
  const float s = (u1 + u2) * (1.0f / 6), h = (u3 + u4) * (1.0f / 6);
  o[0] = u[0] * 0.25f - s + h * 0.25f;
  o[stride] = (u2 - u1) * (1.0f / 6) + (u3 - u4) * (1.0f / 12);
  o[2 * stride] = h - s + u[5 * stride];
}

void weights_grad(float *dw, const float *u) {
  float t[3 * 6];  // t (3, 6) = G^T u
  for (int j = 0; j < 6; ++j) gt_1d(t + j, u + j, 6);
  for (int r = 0; r < 3; ++r) gt_1d(dw + 3 * r, t + 6 * r, 1);
}

}  // namespace

// Fewer, larger tiles than F(2x2): a chunk of 256 tiles covers the output area of 1024 F(2x2)
// tiles with V and M 36 / 16 times as many floats per tile.
const Variant kF4 = {4, 256, 1024, weights, input, output, output_grad, weights_grad};

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
