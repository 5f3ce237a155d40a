// Winograd F(2x2, 3x3) tile transforms (conv2d_winograd_tiles.h): 4x4 input tiles, 16 points.
// G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], B^T = [[1, 0, -1, 0],
// [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].
#include "conv2d_winograd_tiles.h"
#include "cpu_common.h"

namespace crnn {
namespace cpu {
namespace winograd {
namespace {

CRNN_SIMD_CLONES
void weights(float *uo, int64_t OC, const float *g, int64_t C) {
  for (int64_t c0 = 0; c0 < C; c0 += 16) {  // the last block overlaps the one before it
    const int64_t c = c0 + 16 <= C ? c0 : C - 16;
    f16v t[4][3];
    for (int j = 0; j < 3; ++j) {
      const f16v g0 = load16(g + j * C + c), g1 = load16(g + (3 + j) * C + c);
      const f16v g2 = load16(g + (6 + j) * C + c);
      t[0][j] = g0, t[1][j] = 0.5f * (g0 + g1 + g2), t[2][j] = 0.5f * (g0 - g1 + g2), t[3][j] = g2;
    }
    for (int i = 0; i < 4; ++i) {
      store16(uo + (4 * i + 0) * OC + c, t[i][0]);
      store16(uo + (4 * i + 1) * OC + c, 0.5f * (t[i][0] + t[i][1] + t[i][2]));
      store16(uo + (4 * i + 2) * OC + c, 0.5f * (t[i][0] - t[i][1] + t[i][2]));
      store16(uo + (4 * i + 3) * OC + c, t[i][2]);
    }
  }
}

CRNN_SIMD_CLONES
void input(float *V, int64_t ldv, const float *xp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v d[4][4], t[4][4];
      for (int i = 0; i < 4; ++i) {
        const float *r = xp + (2 * th + i) * p.Wps + 2 * tw;
        const f16v a = load16(r), b = load16(r + 16), a2 = load16(r + 2), b2 = load16(r + 18);
        d[i][0] = __builtin_shuffle(a, b, kEven), d[i][1] = __builtin_shuffle(a, b, kOdd);
        d[i][2] = __builtin_shuffle(a2, b2, kEven), d[i][3] = __builtin_shuffle(a2, b2, kOdd);
      }
      for (int j = 0; j < 4; ++j) {
        t[0][j] = d[0][j] - d[2][j], t[1][j] = d[1][j] + d[2][j];
        t[2][j] = d[2][j] - d[1][j], t[3][j] = d[1][j] - d[3][j];
      }
      float *v = V + th * p.TW + tw;
      for (int i = 0; i < 4; ++i) {
        store16(v + (4 * i + 0) * ldv, t[i][0] - t[i][2]);
        store16(v + (4 * i + 1) * ldv, t[i][1] + t[i][2]);
        store16(v + (4 * i + 2) * ldv, t[i][2] - t[i][1]);
        store16(v + (4 * i + 3) * ldv, t[i][1] - t[i][3]);
      }
    }
}

CRNN_SIMD_CLONES
void output(float *yp, const float *M, int64_t ldm, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      const float *m = M + th * p.TW + tw;
      f16v t[2][4];
      for (int j = 0; j < 4; ++j) {
        const f16v a = load16(m + j * ldm), b = load16(m + (4 + j) * ldm);
        const f16v c = load16(m + (8 + j) * ldm), e = load16(m + (12 + j) * ldm);
        t[0][j] = a + b + c, t[1][j] = b - c - e;
      }
      for (int i = 0; i < 2; ++i) {
        const f16v even = t[i][0] + t[i][1] + t[i][2], odd = t[i][1] - t[i][2] - t[i][3];
        float *row = yp + (2 * th + i) * p.W2s + 2 * tw;
        store16(row, __builtin_shuffle(even, odd, kLo));
        store16(row + 16, __builtin_shuffle(even, odd, kHi));
      }
    }
}

// A = [[1, 0], [1, 1], [1, -1], [0, -1]].
CRNN_SIMD_CLONES
void output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v r[4][2];
      const float *g0 = gp + 2 * th * p.W2s + 2 * tw, *g1 = g0 + p.W2s;
      const f16v u0 = load16(g0), u1 = load16(g0 + 16), w0 = load16(g1), w1 = load16(g1 + 16);
      const f16v a0 = __builtin_shuffle(u0, u1, kEven), a1 = __builtin_shuffle(u0, u1, kOdd);
      const f16v b0 = __builtin_shuffle(w0, w1, kEven), b1 = __builtin_shuffle(w0, w1, kOdd);
      r[0][0] = a0, r[0][1] = a1, r[1][0] = a0 + b0, r[1][1] = a1 + b1;
      r[2][0] = a0 - b0, r[2][1] = a1 - b1, r[3][0] = -b0, r[3][1] = -b1;
      float *z = Z + th * p.TW + tw;
      for (int i = 0; i < 4; ++i) {
        store16(z + (4 * i + 0) * ldz, r[i][0]);
        store16(z + (4 * i + 1) * ldz, r[i][0] + r[i][1]);
        store16(z + (4 * i + 2) * ldz, r[i][0] - r[i][1]);
        store16(z + (4 * i + 3) * ldz, -r[i][1]);
      }
    }
}

// G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]].
void weights_grad(float *dw, const float *us, int64_t stride) {
  float u[16], t[3][4];
  for (int k = 0; k < 16; ++k) u[k] = us[k * stride];
  for (int j = 0; j < 4; ++j) {
    t[0][j] = u[j] + 0.5f * (u[4 + j] + u[8 + j]);
    t[1][j] = 0.5f * (u[4 + j] - u[8 + j]);
    t[2][j] = 0.5f * (u[4 + j] + u[8 + j]) + u[12 + j];
  }
  for (int r = 0; r < 3; ++r) {
    dw[r * 3 + 0] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
    dw[r * 3 + 1] = 0.5f * (t[r][1] - t[r][2]);
    dw[r * 3 + 2] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
  }
}

}  // namespace

// Tiles per chunk (the N of the forward sgemms, the K of the weight-gradient ones): V and M
// stay in L2/L3; the weight gradient wants more, its per-thread dU is read and written per chunk.
const Variant kF2 = {2, 2, 512, 2048, weights, input, output, output_grad, weights_grad};

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
