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

// z[r][0..16) = sum_k a[r][k] * panel[k * 16 + 0..16), r < MR.
template <int MR>
CRNN_CPU_INLINE void tile_mr(float *z0, float *z1, int64_t ldz, const float *const *a, int64_t K,
                             const float *panel) {
  typedef detail::f32x8 V;
  V acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = V{};
  for (int64_t k = 0; k < K; ++k) {
    const V w0 = vload(panel + k * kPanel), w1 = vload(panel + k * kPanel + 8);
    for (int r = 0; r < MR; ++r) {
      const float x = a[r][k];
      const V s = {x, x, x, x, x, x, x, x};  // a broadcast (V{} + x adds a zero: 2 spills)
      acc[r][0] += s * w0;
      acc[r][1] += s * w1;
    }
  }
  for (int r = 0; r < MR; ++r) {
    __builtin_memcpy(z0 + r * ldz, &acc[r][0], sizeof(V));
    __builtin_memcpy(z1 + r * ldz, &acc[r][1], sizeof(V));
  }
}

CRNN_SIMD_CLONES void tile(int mr, float *z0, float *z1, int64_t ldz, const float *const *a,
                           int64_t K, const float *panel) {
  switch (mr) {
    case 6: tile_mr<6>(z0, z1, ldz, a, K, panel); break;
    case 5: tile_mr<5>(z0, z1, ldz, a, K, panel); break;
    case 4: tile_mr<4>(z0, z1, ldz, a, K, panel); break;
    case 3: tile_mr<3>(z0, z1, ldz, a, K, panel); break;
    case 2: tile_mr<2>(z0, z1, ldz, a, K, panel); break;
    default: tile_mr<1>(z0, z1, ldz, a, K, panel); break;
  }
}

}  // namespace lstm_rec
}  // namespace cpu
}  // namespace crnn
