// Internal to conv2d_winograd_f4.cpp and conv2d_winograd_f2x4.cpp: 1-D Winograd transforms as
// constant-table matrix-vector products over 16-tile vectors, the 2-D transform built from two of
// them (one along the tile's columns, one along its rows), and the stride-4 gathers / scatters
// between a plane's rows and 16 tiles' columns.
#pragma once
#include "conv2d_winograd_tiles.h"
#include "cpu_common.h"

namespace crnn {
namespace cpu {
namespace winograd {

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

// o (RH, RW) = MH in MW^T for in (KH, KW) (MH^T in MW with Tr): the 1-D transform MH along
// columns, then MW along rows.
template <int RH, int RW, int KH, int KW, bool Tr = false, typename V, int AR, int AC, int BR,
          int BC>
CRNN_CPU_INLINE void mm2d(V (&o)[RH][RW], const V (&in)[KH][KW], const float (&MH)[AR][AC],
                          const float (&MW)[BR][BC]) {
  V t[RH][KW], col[KH], r[RH];
#pragma GCC unroll 8
  for (int j = 0; j < KW; ++j) {
    for (int i = 0; i < KH; ++i) col[i] = in[i][j];
    mv<RH, KH, Tr>(r, col, MH);
    for (int i = 0; i < RH; ++i) t[i][j] = r[i];
  }
#pragma GCC unroll 8
  for (int i = 0; i < RH; ++i) mv<RW, KW, Tr>(o[i], t[i], MW);
}

// d[j][t] = r[4 t + j] for 16 tiles t, j < 4 (reads r[0, 64)).
CRNN_CPU_INLINE void gather4(f16v *d, const float *r) {
  const f16v a0 = load16(r), a1 = load16(r + 16), a2 = load16(r + 32), a3 = load16(r + 48);
  const f16v e01 = __builtin_shuffle(a0, a1, kEven), o01 = __builtin_shuffle(a0, a1, kOdd);
  const f16v e23 = __builtin_shuffle(a2, a3, kEven), o23 = __builtin_shuffle(a2, a3, kOdd);
  d[0] = __builtin_shuffle(e01, e23, kEven), d[2] = __builtin_shuffle(e01, e23, kOdd);
  d[1] = __builtin_shuffle(o01, o23, kEven), d[3] = __builtin_shuffle(o01, o23, kOdd);
}

// d[j][t] = r[4 t + j] for 16 tiles t, j < 6: the columns of 16 tiles of side 4 + 2 that start
// every 4 columns (reads r[0, 68)).
CRNN_CPU_INLINE void gather6(f16v *d, const float *r) {
  f16v e[4];
  gather4(d, r);
  gather4(e, r + 4);
  d[4] = e[0], d[5] = e[1];
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

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
