// Internal to conv2d_winograd*.cpp: the plan shared by F(2x2, 3x3), F(4x4, 3x3) and F(2x4, 3x3),
// and the per-variant tile transforms it calls (conv2d_winograd_f2.cpp, conv2d_winograd_f4.cpp).
//
// A variant with output tiles mh x m (rows x columns) has input tiles (mh + 2) x (m + 2) and
// T = (mh + 2) (m + 2) transform points k = (m + 2) i + j: U (T, O, C), V (T, C, P + 16), M and
// Z (T, O, P + 16), tile p = (sample, th, tw) row-major with th < TH = ceil(H_out / mh),
// tw < TW = ceil(W_out / m).
//
// Transforms work on 16 tiles of a tile row at a time (GCC vector extensions: one AVX-512
// register in the x86-64-v4 clone, pairs / quads of narrower ones in the others). They read and
// write whole blocks: planes are padded to Wps / W2s columns, and every (k, channel) row of V, M
// and Z has 16 slack tiles (ld = P + 16), so a block past the tile row's end lands in tiles
// written later or in the slack.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "crnn/conv2d.h"

namespace crnn {
namespace cpu {
namespace winograd {

struct Plan;

struct Variant {
  int mh, m;                                 // output tile rows, columns (input: + 2 each)
  int64_t target_tiles, target_tiles_wgrad;  // tiles per chunk (see make_plan)
  // uo[k OC + c] = (G g G^T)[k] for channels c in [0, C), g (9, C) one output channel's taps
  // (tap-major, channel-contiguous); C >= 16.
  void (*weights)(float *uo, int64_t OC, const float *g, int64_t C);
  // V[k ldv + th TW + tw] = (B^T d B)[k] for the tile of plane xp (Hp, Wps) at (mh th, m tw).
  void (*input)(float *V, int64_t ldv, const float *xp, const Plan &p);
  // yp (mh TH, W2s) = A^T M A per tile, M[k ldm + th TW + tw].
  void (*output)(float *yp, const float *M, int64_t ldm, const Plan &p);
  // Z[k ldz + th TW + tw] = (A g A^T)[k] for the mh x m tile of gp (mh TH, W2s) at
  // (mh th, m tw).
  void (*output_grad)(float *Z, int64_t ldz, const float *gp, const Plan &p);
  // dw (3, 3) = G^T u G, u (T) one (o, c) pair's summed weight-gradient points, u[k stride].
  void (*weights_grad)(float *dw, const float *u, int64_t stride);
};

// kF4: points (0, -1, 1, 1/2, -2, inf); kF4Standard: Lavin & Gray's (0, 1, -1, 2, -2, inf), kept
// for benchmarks/winograd_f4_error.py (2-2.5x the error, the same speed); kF2x4: F(2, 3) along
// the height (kF2's points) by F(4, 3) along the width (kF4's), for planes one or two rows high.
extern const Variant kF2, kF4, kF4Standard, kF2x4;

struct Plan {
  const Variant *v;
  crnn_conv2d_desc e;  // the convolution actually computed (the data-gradient one if flipped)
  int64_t mh, m, T, C, O, Ho, Wo, TH, TW, tiles, chunk, units, Pmax, Hp, Wps, W2s;
  int nt;
  size_t u_off, threads_off, per_thread, v_off, m_off, in_off, out_off, du_off, taps_off, bytes;
};

// 16-float vectors and the shuffles the transforms share.
typedef float f16v __attribute__((vector_size(64)));
typedef int32_t i16v __attribute__((vector_size(64)));
typedef float f16u __attribute__((vector_size(64), aligned(4)));

inline f16v load16(const float *p) {
  return *reinterpret_cast<const f16u *>(p);
}
inline void store16(float *p, f16v v) {
  *reinterpret_cast<f16u *>(p) = v;
}
constexpr i16v kEven = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
constexpr i16v kOdd = kEven + 1;
constexpr i16v kLo = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
constexpr i16v kHi = kLo + 8;

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
