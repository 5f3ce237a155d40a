// The LSTM recurrence's packing and register-tiled micro-kernel (CPU): see lstm_recurrent.h.
#include "lstm_recurrent.h"

#include <string.h>

#include <memory>
#include <new>

#include "../common/narrow_float.h"
#include "cpu_common.h"
#include "gemm_bf16.h"

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
// GCC lowers a 16-float vector on AVX2 through the stack, 3x slower); Lanes<L>: cpu_common.h.
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

template <int L>
CRNN_CPU_INLINE void row4(float *z, int64_t Hp, int64_t j0, const float *a, int64_t K,
                          const float *panels) {
  typedef typename Lanes<L>::type V;
  constexpr int NV = kPanel / L;
  V acc[4][NV];
  for (int q = 0; q < 4; ++q)
    for (int v = 0; v < NV; ++v) acc[q][v] = V{};
  const int64_t stride = K * kPanel;  // from one panel to the next
  for (int64_t k = 0; k < K; ++k) {
    const V s = a[k] - V{};  // see tile_mr
    for (int q = 0; q < 4; ++q)
      for (int v = 0; v < NV; ++v) {
        V w;
        __builtin_memcpy(&w, panels + q * stride + k * kPanel + v * L, sizeof(V));
        acc[q][v] += s * w;
      }
  }
  for (int q = 0; q < 4; ++q) {
    float out[kPanel];
    __builtin_memcpy(out, acc[q], sizeof(out));
    // panel q: unit block q / 2, gate pair q % 2 ([i f] or [g o]); columns 0..8, 8..16
    float *z0 = z + (2 * (q % 2)) * Hp + j0 + 8 * (q / 2), *z1 = z0 + Hp;
    __builtin_memcpy(z0, out, 8 * 4);
    __builtin_memcpy(z1, out + 8, 8 * 4);
  }
}

CRNN_SIMD_CLONES void tile_row4(float *z, int64_t Hp, int64_t j0, const float *a, int64_t K,
                                const float *panels) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    (!defined(CRNN_NO_CLONES) || defined(__AVX512F__))
  static const bool wide = __builtin_cpu_supports("avx512f");
  if (wide) return row4<16>(z, Hp, j0, a, K, panels);
#endif
  row4<8>(z, Hp, j0, a, K, panels);
}

Mode mode() {
  if (matmul_precision() != MatmulPrecision::kBFloat16) return Mode::kFloat32;
  return bf16_native() ? Mode::kBf16Native : Mode::kBf16Emulated;
}

void prepare_panels(float *panel, int64_t K, int64_t count, Mode m) {
  for (int64_t i = 0; i < count; ++i, panel += K * kPanel) {
    if (m == Mode::kBf16Native) {
      panel_to_pair_words(panel, K);
    } else if (m == Mode::kBf16Emulated) {
      for (int64_t j = 0; j < K * kPanel; ++j) panel[j] = round_bf16(panel[j]);
    }
  }
}

namespace {

// This thread's row buffer, grown to `words` 32-bit words (nullptr: no memory).
uint32_t *row_buffer(int64_t words) {
  thread_local std::unique_ptr<uint32_t[]> buf;
  thread_local int64_t size = 0;
  if (words > size) {
    buf.reset(new (std::nothrow) uint32_t[words]);
    size = buf ? words : 0;
  }
  return buf.get();
}

// Panel element (k, n) in the mode's form, as a float.
float panel_at(Mode m, const float *panel, int64_t k, int64_t n) {
  if (m == Mode::kBf16Emulated) return panel[k * kPanel + n];
  const uint32_t w = reinterpret_cast<const uint32_t *>(panel)[(k / 2) * kPanel + n];
  return bf16_bits_to_float(static_cast<uint16_t>(k % 2 ? w >> 16 : w & 0xffffu));
}

}  // namespace

TileRows::TileRows(Mode m, int mr, const float *const *a, int64_t K)
    : m_(m), mr_(mr), K_(K), a_(a), rounded_{}, pairs_(nullptr), buffered_(false) {
  const int64_t row_words = m == Mode::kBf16Native ? (K + 1) / 2 : K;
  uint32_t *buf = row_buffer(kRows * row_words);
  if (!buf) return;
  buffered_ = true;
  for (int r = 0; r < mr; ++r) {
    uint32_t *row = buf + r * row_words;
    if (m == Mode::kBf16Native) {
      to_pair_words(a[r], K, row);
    } else {
      float *f = reinterpret_cast<float *>(row);
      for (int64_t k = 0; k < K; ++k) f[k] = round_bf16(a[r][k]);
      rounded_[r] = f;
    }
  }
  pairs_ = buf;
}

void TileRows::tile(float *z0, float *z1, int64_t ldz, const float *panel) const {
  if (buffered_ && m_ == Mode::kBf16Native) {
    const int64_t K2 = (K_ + 1) / 2;
    return tile_pair_words(mr_, z0, z1, ldz, pairs_, K2, K2,
                           reinterpret_cast<const uint32_t *>(panel));
  }
  if (buffered_) return crnn::cpu::lstm_rec::tile(mr_, z0, z1, ldz, rounded_, K_, panel);
  for (int r = 0; r < mr_; ++r)
    for (int64_t n = 0; n < kPanel; ++n) {
      float s = 0.0f;
      for (int64_t k = 0; k < K_; ++k) s += round_bf16(a_[r][k]) * panel_at(m_, panel, k, n);
      (n < 8 ? z0 + r * ldz + n : z1 + r * ldz + n - 8)[0] = s;
    }
}

}  // namespace lstm_rec
}  // namespace cpu
}  // namespace crnn
