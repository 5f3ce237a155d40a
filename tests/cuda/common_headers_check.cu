// Compile check: the scalar math in kernels/common is usable from device code, so the CUDA
// kernels can share it with the CPU ones (built when CMake finds nvcc; no GPU needed). Every
// function of every kernels/common header is called from a __global__ kernel below.
#include "../../kernels/common/ctc_math.h"
#include "../../kernels/common/ctc_prefix_trie.h"
#include "../../kernels/common/fast_math.h"
#include "../../kernels/common/lstm_layout.h"
#include "../../kernels/common/lstm_math.h"
#include "../../kernels/common/narrow_float.h"

__global__ void crnn_common_headers_check(const float *x, const int32_t *label, float *out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float v = crnn::log_add_exp3(x[i], crnn::log_fast(x[i] + 2.0f), crnn::exp_fast(-x[i]));
  v += static_cast<float>(crnn::log_add_exp<double>(v, crnn::log_fast<double>(2.0)) +
                          crnn::exp_fast<double>(1.0));
  v += crnn::ctc_can_skip(label, i) + crnn::ctc_state_class(label, i, 0) +
       crnn::ctc_min_frames(label, 2);
  out[i] = v;
}

// CTC: one alpha and one beta step per state, in float and double, on rows laid out as
// ctc_math.h states (alpha rows with two leading -inf), plus the band, the final likelihood,
// the occupancy and the value rule.
template <typename T>
__device__ T ctc_steps(const T *prev, const T *next, const T *ly, const int32_t *label, int64_t s,
                       int64_t t, int64_t Tb, int64_t L) {
  const int64_t Sp = 2 * L + 1;
  T skip[4];
  for (int64_t k = 0; k < 4; ++k) skip[k] = crnn::ctc_skip_mask<T>(label, k, Sp);
  const crnn::CtcBand band = crnn::ctc_band(t, Tb, Sp);
  T v = s >= band.lo && s < band.hi ? crnn::ctc_alpha_state(prev, ly, skip, 0) : T(0);
  v += crnn::ctc_beta_state(next, ly, skip, 0);
  v += crnn::ctc_final_log_likelihood(prev + 2, Sp);
  v += crnn::ctc_occupancy(v, prev[s], T(-1));
  v += crnn::ctc_is_start_state(s) + crnn::ctc_is_final_state(s, Sp);
  return v;
}

__global__ void crnn_ctc_math_check(const float *rows, const double *rows_d, const int32_t *label,
                                    float *out, double *out_d, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  out[i] = ctc_steps<float>(rows, rows + 8, rows + 16, label, i % 3, i % 5, 5, 1);
  out_d[i] = ctc_steps<double>(rows_d, rows_d + 8, rows_d + 16, label, i % 3, i % 5, 5, 1) +
             crnn::log_add_exp_exact(rows_d[i], rows_d[i + 1]);
  const int kind = crnn::ctc_row_kind(rows[i] != rows[i], rows[i] > crnn::neg_inf<float>());
  const int st = crnn::ctc_row_status(kind, CRNN_CTC_LOGITS);
  out[i] += st + crnn::ctc_prob_invalid(rows[i]);
  out_d[i] += crnn::ctc_score_log_prob(rows[i], 1.0, CRNN_CTC_PROBS);
}

// LSTM: one unit's cell forward and backward, and the reserve offsets of layer 1, direction 1.
__global__ void crnn_lstm_math_check(const float *z, const float *c_prev, float *out, int64_t *off,
                                     int n) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= n) return;
  const crnn::LstmCellForward<float> f =
      crnn::lstm_cell_forward(z[j], z[n + j], z[2 * n + j], z[3 * n + j], c_prev[j]);
  const crnn::LstmCellBackward<float> b =
      crnn::lstm_cell_backward(1.0f, 0.5f, f.i, f.f, f.g, f.o, c_prev[j], f.c);
  out[j] = f.h + b.dzi + b.dzf + b.dzg + b.dzo + b.dc_prev;
  if (j == 0) {
    const int64_t T = 25, B = 64, H = 256, L = 2, D = 2;
    off[0] = crnn::lstm_reserve_size(T, B, H, L, D);
    off[1] = crnn::lstm_reserve_gates_offset(T, B, H, D, 1, 1);
    off[2] = crnn::lstm_reserve_cells_offset(T, B, H, D, 1, 1);
    off[3] = crnn::lstm_reserve_output_offset(T, B, H, D, 0);
    off[4] = crnn::lstm_reserve_layer_size(T, B, H, L, D, 0) +
             crnn::lstm_reserve_direction_size(T, B, H) +
             crnn::lstm_reserve_layer_offset(T, B, H, D, 1);
  }
}

// Prefix trie: reset (hash fill, geometry, root), intern and find of one prefix.
__global__ void crnn_prefix_trie_check(crnn::TrieNode *pool, int32_t *hash, int32_t *out) {
  crnn::PrefixTrie trie{pool, hash, 37};
  trie.reset(9);
  const int32_t a = trie.intern(0, 5);
  trie.size_for(9);
  out[0] = a + trie.find(0, 5) + trie.find(a, 3) + static_cast<int32_t>(trie.home(a, 4));
}

// float16 / bfloat16 storage: widening, narrowing (RNE) and the storage wrappers.
__global__ void crnn_narrow_float_check(const uint16_t *h, uint16_t *out, float *f, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  f[i] = crnn::half_bits_to_float(h[i]) + crnn::bf16_bits_to_float(h[i]) +
         crnn::widen(crnn::Half{h[i]}) + crnn::widen(crnn::BFloat16{h[i]});
  out[i] = crnn::float_to_half_bits(f[i]) ^ crnn::float_to_bf16_bits(f[i]) ^
           crnn::narrow_to<crnn::Half>(f[i]).bits ^ crnn::narrow_to<crnn::BFloat16>(f[i]).bits;
}
