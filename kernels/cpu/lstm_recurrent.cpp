// The LSTM recurrence's packing and register-tiled micro-kernel (CPU): see lstm_recurrent.h.
#include "lstm_recurrent.h"

#include <string.h>

#include "cpu_common.h"

namespace crnn {
namespace cpu {
namespace lstm_rec {

void pack_forward(float *panel, const float *w_hh, int64_t H, int64_t jb0, int64_t jb1) {
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t p = 0; p < 2; ++p) {
      float *dst = panel + (jb * 2 + p) * H * kPanel;
      for (int64_t k = 0; k < H; ++k)
        for (int64_t n = 0; n < kPanel; ++n) {
          const int64_t gate = 2 * p + n / kFwdUnits, j = jb * kFwdUnits + n % kFwdUnits;
          dst[k * kPanel + n] = j < H ? w_hh[(gate * H + j) * H + k] : 0.0f;
        }
    }
}

void pack_backward(float *panel, const float *w_hh, int64_t H, int64_t kb0, int64_t kb1) {
  const int64_t G = 4 * H;
  for (int64_t kb = kb0; kb < kb1; ++kb) {
    float *dst = panel + kb * G * kPanel;
    const int64_t n_valid = H - kb * kPanel < kPanel ? H - kb * kPanel : kPanel;
    for (int64_t r = 0; r < G; ++r) {
      memcpy(dst + r * kPanel, w_hh + r * H + kb * kPanel, n_valid * 4);
      memset(dst + r * kPanel + n_valid, 0, (kPanel - n_valid) * 4);
    }
  }
}

// Rows r < MR: z0[r * ldz + 0..8) and z1[r * ldz + 0..8) = sum_k a[r][k] * panel[k * 16 + ..],
// in vectors of L = 8 or 16 floats: 16 on AVX-512 (one zmm per row: 6 FMAs per panel load; 8
// lanes would leave half of each FMA idle), 8 elsewhere (two ymm per row, the 6x16 kernel:
// GCC lowers a 16-float vector on AVX2 through the stack, 3x slower).
template <int L>
struct Lanes;  // (GCC drops vector_size with a dependent size: one specialization per width)
template <>
struct Lanes<8> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Lanes<16> {
  typedef float type __attribute__((vector_size(64)));
};

template <int MR, int L>
CRNN_CPU_INLINE void tile_mr(float *z0, float *z1, int64_t ldz, const float *const *a, int64_t K,
                             const float *panel) {
  typedef typename Lanes<L>::type V;
  constexpr int NV = kPanel / L;
  V acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V{};
  for (int64_t k = 0; k < K; ++k) {
    V w[NV];
    for (int v = 0; v < NV; ++v) __builtin_memcpy(&w[v], panel + k * kPanel + v * L, sizeof(V));
    for (int r = 0; r < MR; ++r) {
      // a broadcast: x - 0 folds to x exactly (x + 0 does not, -0 + 0 = +0: GCC kept the add
      // and spilled two accumulators; a {x, x, ...} initializer became lane inserts here)
      const V s = a[r][k] - V{};
      for (int v = 0; v < NV; ++v) acc[r][v] += s * w[v];
    }
  }
  for (int r = 0; r < MR; ++r) {
    float out[kPanel];
    __builtin_memcpy(out, acc[r], sizeof(out));
    __builtin_memcpy(z0 + r * ldz, out, 8 * 4);
    __builtin_memcpy(z1 + r * ldz, out + 8, 8 * 4);
  }
}

template <int L>
CRNN_CPU_INLINE void tile_rows(int mr, float *z0, float *z1, int64_t ldz, const float *const *a,
                               int64_t K, const float *panel) {
  switch (mr) {
    case 6: tile_mr<6, L>(z0, z1, ldz, a, K, panel); break;
    case 5: tile_mr<5, L>(z0, z1, ldz, a, K, panel); break;
    case 4: tile_mr<4, L>(z0, z1, ldz, a, K, panel); break;
    case 3: tile_mr<3, L>(z0, z1, ldz, a, K, panel); break;
    case 2: tile_mr<2, L>(z0, z1, ldz, a, K, panel); break;
    default: tile_mr<1, L>(z0, z1, ldz, a, K, panel); break;
  }
}

// Every clone holds both widths; the 16-lane one runs only where AVX-512 does (the x86-64-v4
// clone), checked at run time since target_clones compiles one preprocessed body per ISA.
CRNN_SIMD_CLONES void tile(int mr, float *z0, float *z1, int64_t ldz, const float *const *a,
                           int64_t K, const float *panel) {
// Without clones (CRNN_NO_CLONES: one body for the -march given) only where that is AVX-512.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    (!defined(CRNN_NO_CLONES) || defined(__AVX512F__))
  static const bool wide = __builtin_cpu_supports("avx512f");
  if (wide) return tile_rows<16>(mr, z0, z1, ldz, a, K, panel);
#endif
  tile_rows<8>(mr, z0, z1, ldz, a, K, panel);
}

}  // namespace lstm_rec
}  // namespace cpu
}  // namespace crnn
