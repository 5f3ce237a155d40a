// bfloat16-input, float32-accumulate GEMM (gemm_bf16.h): the AVX512-BF16 packed kernel and the
// sgemm emulation used where the CPU lacks it.
//
// Packed layouts (uint32_t words, each a bf16 pair (k even in the low half, k odd in the high
// half) as vdpbf16ps reads it; K is padded to even with a zero):
//   A block: micro-panels of kMR rows, [pair][row]: the kernel broadcasts one word per row;
//   B block: micro-panels of kNR columns, [pair][column]: two zmm loads per pair.
// Blocking: kNC columns of B x kKC2 pairs packed once (512 KB, L2) and, for M <= kMA, all rows
// of A per K block (<= 192 KB, packed once: Winograd's and the LSTM's weights); for larger M
// (BLIS order) kMC rows of A (48 KB) per B block. Then kMR x kNR tiles with the B micro-panel
// (16 KB) held in L1 across the A panels.
#include "gemm_bf16.h"

#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <memory>
#include <new>

#include "../common/narrow_float.h"
#include "blas.h"
#include "crnn/matmul_precision.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CRNN_HAVE_BF16_KERNEL 1
// GCC 12's unpack/shuffle intrinsics pass _mm512_undefined_epi32() as the unused merge source,
// which -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define CRNN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#endif

namespace crnn {
namespace cpu {
namespace {

std::atomic<int> g_precision{static_cast<int>(MatmulPrecision::kFloat32)};

// op(X) as stored ((rows, cols), ld) rounded to bf16 values into a compact float32 copy.
void round_rows(int64_t rows, int64_t cols, const float *x, int64_t ld, float *out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = round_bf16(x[r * ld + c]);
}

// Allocation-free last resort (no memory for the rounded copies): one dot product per element.
void gemm_bf16_naive(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        s += round_bf16(a_trans ? A[k * lda + i] : A[i * lda + k]) *
             round_bf16(b_trans ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = beta == 0.0f ? s : s + beta * C[i * ldc + j];
    }
}

void gemm_bf16_portable(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                        int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                        int64_t ldc) {
  const int64_t ar = a_trans ? K : M, ac = a_trans ? M : K;
  const int64_t br = b_trans ? N : K, bc = b_trans ? K : N;
  std::unique_ptr<float[]> a(new (std::nothrow) float[ar * ac]);
  std::unique_ptr<float[]> b(new (std::nothrow) float[br * bc]);
  if (!a || !b) return gemm_bf16_naive(a_trans, b_trans, M, N, K, A, lda, B, ldb, beta, C, ldc);
  round_rows(ar, ac, A, lda, a.get());
  round_rows(br, bc, B, ldb, b.get());
  gemm_f32(a_trans, b_trans, M, N, K, a.get(), ac, b.get(), bc, beta, C, ldc);
}

#if defined(CRNN_HAVE_BF16_KERNEL)

constexpr int kMR = 12;
constexpr int64_t kNR = 32;
constexpr int64_t kKC2 = 128;      // pairs per K block
constexpr int64_t kMC = 8 * kMR;   // rows of A per block when M > kMA
constexpr int64_t kMA = 32 * kMR;  // up to this many rows, all of A is one block
constexpr int64_t kNC = 32 * kNR;

struct PackBuffers {
  uint32_t a[kMA * kKC2];
  uint32_t b[kNC * kKC2];
};

// This thread's packing buffers (704 KB, allocated on first use, freed at thread exit).
PackBuffers *thread_buffers() {
  thread_local std::unique_ptr<PackBuffers> buf(new (std::nothrow) PackBuffers);
  return buf.get();
}

CRNN_BF16_TARGET inline __mmask16 lanes(int64_t n) {
  return n >= 16  ? static_cast<__mmask16>(0xffff)
         : n <= 0 ? static_cast<__mmask16>(0)
                  : static_cast<__mmask16>((1u << n) - 1u);
}

// 16 words (lo_j, hi_j), lo and hi rounded to bf16: the pair layout of 16 rows or columns.
CRNN_BF16_TARGET inline __m512i pair_words(__m512 lo, __m512 hi) {
  const __m512i words = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));  // lo.., hi..
  const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(order, words);
}

// 32 consecutive k of one row (n <= 32 of them valid) as 16 pair words.
CRNN_BF16_TARGET inline __m512i row_pairs(const float *x, int64_t n) {
  const __m512 lo = _mm512_maskz_loadu_ps(lanes(n), x);
  const __m512 hi = _mm512_maskz_loadu_ps(lanes(n - 16), x + 16);
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Rows k and k + 1 (the second absent past K) of 16 consecutive columns, as pair words.
CRNN_BF16_TARGET inline __m512i column_pairs(const float *x, int64_t ld, bool has_odd,
                                             __mmask16 m) {
  const __m512 lo = _mm512_maskz_loadu_ps(m, x);
  const __m512 hi = has_odd ? _mm512_maskz_loadu_ps(m, x + ld) : _mm512_setzero_ps();
  return pair_words(lo, hi);
}

CRNN_BF16_TARGET void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int g = 0; g < 16; g += 4) {  // u[g + c], lane L: column 4L + c of rows g..g+3
    u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // a 4 x 4 transpose of 128-bit lanes
    const __m512i s0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    const __m512i s1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i s3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
    r[c] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(s0, s2, 0xdd);
    r[8 + c] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(s1, s3, 0xdd);
  }
}

// Rows [i0, i0 + mc) x pairs [p0, p0 + kc2) of op(A) into kMR-row micro-panels (rows past mc
// in the last panel are zero).
CRNN_BF16_TARGET void pack_a(bool trans, const float *A, int64_t lda, int64_t K, int64_t i0,
                             int64_t mc, int64_t p0, int64_t kc2, uint32_t *out) {
  const __mmask16 full = static_cast<__mmask16>((1u << kMR) - 1u);
  for (int64_t r0 = 0; r0 < mc; r0 += kMR, out += kc2 * kMR) {
    const int64_t rows = mc - r0 < kMR ? mc - r0 : kMR;
    if (!trans) {  // row i: k contiguous; 16 pairs of kMR rows, transposed
      for (int64_t p = 0; p < kc2; p += 16) {
        const int64_t k = 2 * (p0 + p);
        __m512i r[16];
        for (int64_t i = 0; i < 16; ++i)
          r[i] = i < rows ? row_pairs(A + (i0 + r0 + i) * lda + k, K - k) : _mm512_setzero_si512();
        transpose16(r);
        for (int64_t q = 0; q < 16 && p + q < kc2; ++q)
          _mm512_mask_storeu_epi32(out + (p + q) * kMR, full, r[q]);
      }
    } else {  // row k of the stored matrix: i contiguous
      for (int64_t p = 0; p < kc2; ++p) {
        const int64_t k = 2 * (p0 + p);
        _mm512_mask_storeu_epi32(out + p * kMR, full,
                                 column_pairs(A + k * lda + i0 + r0, lda, k + 1 < K, lanes(rows)));
      }
    }
  }
}

// Pairs [p0, p0 + kc2) x columns [j0, j0 + nc) of op(B) into kNR-column micro-panels.
CRNN_BF16_TARGET void pack_b(bool trans, const float *B, int64_t ldb, int64_t K, int64_t j0,
                             int64_t nc, int64_t p0, int64_t kc2, uint32_t *out) {
  for (int64_t j = 0; j < nc; j += 16) {
    uint32_t *panel = out + (j / kNR) * kc2 * kNR + j % kNR;
    if (!trans) {  // row k: columns contiguous
      const __mmask16 m = lanes(nc - j);
      for (int64_t p = 0; p < kc2; ++p) {
        const int64_t k = 2 * (p0 + p);
        _mm512_storeu_si512(panel + p * kNR, column_pairs(B + k * ldb + j0 + j, ldb, k + 1 < K, m));
      }
    } else {  // column j stored as a row (k contiguous): 16 columns x 16 pairs, transposed
      for (int64_t p = 0; p < kc2; p += 16) {
        const int64_t k = 2 * (p0 + p);
        __m512i r[16];
        for (int64_t c = 0; c < 16; ++c)
          r[c] = j + c < nc ? row_pairs(B + (j0 + j + c) * ldb + k, K - k) : _mm512_setzero_si512();
        transpose16(r);
        for (int64_t q = 0; q < 16 && p + q < kc2; ++q)
          _mm512_storeu_si512(panel + (p + q) * kNR, r[q]);
      }
    }
  }
}

// C tile (mr <= kMR, nr <= kNR) = (add ? C : 0) + A panel . B panel.
CRNN_BF16_TARGET void micro_tile(int64_t kc2, const uint32_t *a, const uint32_t *b, float *c,
                                 int64_t ldc, int64_t mr, int64_t nr, bool add) {
  __m512 acc[kMR][2];
  for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc2; ++p) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + p * kNR));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + p * kNR + 16));
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) {
      const __m512bh s = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[r])));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], s, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], s, b1);
    }
    a += kMR;
  }
  const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
  for (int64_t r = 0; r < mr; ++r) {
    float *cr = c + r * ldc;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (add) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

// The kMR x kNR tiles of C[ic.., jc..] (mc x nc) from packed A and B blocks.
CRNN_BF16_TARGET void tiles(int64_t kc2, const uint32_t *a, int64_t mc, const uint32_t *b,
                            int64_t nc, float *C, int64_t ldc, bool acc) {
  for (int64_t jr = 0; jr < nc; jr += kNR)
    for (int64_t ir = 0; ir < mc; ir += kMR)
      micro_tile(kc2, a + (ir / kMR) * kc2 * kMR, b + (jr / kNR) * kc2 * kNR, C + ir * ldc + jr,
                 ldc, mc - ir < kMR ? mc - ir : kMR, nc - jr < kNR ? nc - jr : kNR, acc);
}

bool gemm_bf16_packed(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                      int64_t lda, const float *B, int64_t ldb, bool add, float *C, int64_t ldc) {
  PackBuffers *buf = thread_buffers();
  if (!buf) return false;
  const int64_t K2 = (K + 1) / 2;
  if (M <= kMA) {  // every row of A packed once per K block, B once per (K, N) block
    for (int64_t pc = 0; pc < K2; pc += kKC2) {
      const int64_t kc2 = K2 - pc < kKC2 ? K2 - pc : kKC2;
      pack_a(a_trans, A, lda, K, 0, M, pc, kc2, buf->a);
      for (int64_t jc = 0; jc < N; jc += kNC) {
        const int64_t nc = N - jc < kNC ? N - jc : kNC;
        pack_b(b_trans, B, ldb, K, jc, nc, pc, kc2, buf->b);
        tiles(kc2, buf->a, M, buf->b, nc, C + jc, ldc, add || pc > 0);
      }
    }
    return true;
  }
  for (int64_t jc = 0; jc < N; jc += kNC) {  // B once per block, A per kMC rows of it
    const int64_t nc = N - jc < kNC ? N - jc : kNC;
    for (int64_t pc = 0; pc < K2; pc += kKC2) {
      const int64_t kc2 = K2 - pc < kKC2 ? K2 - pc : kKC2;
      pack_b(b_trans, B, ldb, K, jc, nc, pc, kc2, buf->b);
      for (int64_t ic = 0; ic < M; ic += kMC) {
        const int64_t mc = M - ic < kMC ? M - ic : kMC;
        pack_a(a_trans, A, lda, K, ic, mc, pc, kc2, buf->a);
        tiles(kc2, buf->a, mc, buf->b, nc, C + ic * ldc + jc, ldc, add || pc > 0);
      }
    }
  }
  return true;
}

template <int MR>
CRNN_BF16_TARGET void tile_pairs_mr(float *z0, float *z1, int64_t ldz, const uint32_t *a,
                                    int64_t lda2, int64_t K2, const uint32_t *panel) {
  __m512 acc[2][MR];  // two chains per row (even / odd pairs): 12 in flight, not 6
  for (int r = 0; r < MR; ++r) acc[0][r] = acc[1][r] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 1 < K2; p += 2)
    for (int h = 0; h < 2; ++h) {
      const __m512bh w = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + (p + h) * 16));
      for (int r = 0; r < MR; ++r)
        acc[h][r] = _mm512_dpbf16_ps(
            acc[h][r], reinterpret_cast<__m512bh>(_mm512_set1_epi32(a[r * lda2 + p + h])), w);
    }
  if (p < K2) {
    const __m512bh w = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + p * 16));
    for (int r = 0; r < MR; ++r)
      acc[0][r] = _mm512_dpbf16_ps(
          acc[0][r], reinterpret_cast<__m512bh>(_mm512_set1_epi32(a[r * lda2 + p])), w);
  }
  for (int r = 0; r < MR; ++r) {
    const __m512 v = _mm512_add_ps(acc[0][r], acc[1][r]);
    _mm256_storeu_ps(z0 + r * ldz, _mm512_castps512_ps256(v));
    _mm256_storeu_ps(z1 + r * ldz,
                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
}

CRNN_BF16_TARGET void to_pair_words_native(const float *x, int64_t n, uint32_t *out) {
  for (int64_t k = 0; k < n; k += 32) {
    const int64_t words = (n - k + 1) / 2 < 16 ? (n - k + 1) / 2 : 16;
    _mm512_mask_storeu_epi32(out + k / 2, lanes(words), row_pairs(x + k, n - k));
  }
}

CRNN_BF16_TARGET void panel_to_pair_words_native(float *panel, int64_t K) {
  uint32_t *out = reinterpret_cast<uint32_t *>(panel);
  for (int64_t p = 0; 2 * p < K; ++p) {  // block p is written after rows 2p, 2p + 1 are read
    const __m512 lo = _mm512_loadu_ps(panel + 2 * p * 16);
    const __m512 hi =
        2 * p + 1 < K ? _mm512_loadu_ps(panel + (2 * p + 1) * 16) : _mm512_setzero_ps();
    _mm512_storeu_si512(out + p * 16, pair_words(lo, hi));
  }
}

#endif  // CRNN_HAVE_BF16_KERNEL

}  // namespace

float round_bf16(float x) {
  return bf16_bits_to_float(float_to_bf16_bits(x));
}

void to_pair_words(const float *x, int64_t n, uint32_t *out) {
#if defined(CRNN_HAVE_BF16_KERNEL)
  to_pair_words_native(x, n, out);
#else
  (void)x, (void)n, (void)out;
#endif
}

void panel_to_pair_words(float *panel, int64_t K) {
#if defined(CRNN_HAVE_BF16_KERNEL)
  panel_to_pair_words_native(panel, K);
#else
  (void)panel, (void)K;
#endif
}

void tile_pair_words(int mr, float *z0, float *z1, int64_t ldz, const uint32_t *a, int64_t lda2,
                     int64_t K2, const uint32_t *panel) {
#if defined(CRNN_HAVE_BF16_KERNEL)
  switch (mr) {
    case 6: return tile_pairs_mr<6>(z0, z1, ldz, a, lda2, K2, panel);
    case 5: return tile_pairs_mr<5>(z0, z1, ldz, a, lda2, K2, panel);
    case 4: return tile_pairs_mr<4>(z0, z1, ldz, a, lda2, K2, panel);
    case 3: return tile_pairs_mr<3>(z0, z1, ldz, a, lda2, K2, panel);
    case 2: return tile_pairs_mr<2>(z0, z1, ldz, a, lda2, K2, panel);
    default: return tile_pairs_mr<1>(z0, z1, ldz, a, lda2, K2, panel);
  }
#else
  (void)mr, (void)z0, (void)z1, (void)ldz, (void)a, (void)lda2, (void)K2, (void)panel;
#endif
}

void set_matmul_precision(MatmulPrecision p) {
  g_precision.store(static_cast<int>(p), std::memory_order_relaxed);
}

MatmulPrecision matmul_precision() {
  return static_cast<MatmulPrecision>(g_precision.load(std::memory_order_relaxed));
}

bool bf16_native() {
#if defined(CRNN_HAVE_BF16_KERNEL)
  // Read once (every GEMM asks): CRNN_FAST_BF16=emulate runs the emulation even on
  // AVX512-BF16 (the tests of that path).
  static const bool native = [] {
    const char *force = getenv("CRNN_FAST_BF16");
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
           !(force && strcmp(force, "emulate") == 0);
  }();
  return native;
#else
  return false;
#endif
}

void gemm_bf16(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
               bool portable) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || (beta != 0.0f && beta != 1.0f)) {  // C = beta C first; then accumulate
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    if (K <= 0) return;
    beta = 1.0f;
  }
#if defined(CRNN_HAVE_BF16_KERNEL)
  if (!portable && bf16_native() &&
      gemm_bf16_packed(a_trans, b_trans, M, N, K, A, lda, B, ldb, beta != 0.0f, C, ldc))
    return;
#endif
  gemm_bf16_portable(a_trans, b_trans, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace cpu
}  // namespace crnn

extern "C" crnn_status_t crnn_cpu_set_matmul_precision(crnn_matmul_precision_t precision) {
  if (precision != CRNN_MATMUL_FLOAT32 && precision != CRNN_MATMUL_BFLOAT16)
    return CRNN_STATUS_INVALID_VALUE;
  crnn::cpu::set_matmul_precision(static_cast<crnn::cpu::MatmulPrecision>(precision));
  return CRNN_STATUS_SUCCESS;
}

extern "C" crnn_matmul_precision_t crnn_cpu_matmul_precision(void) {
  return static_cast<crnn_matmul_precision_t>(crnn::cpu::matmul_precision());
}

extern "C" int crnn_cpu_bf16_native(void) {
  return crnn::cpu::bf16_native() ? 1 : 0;
}
