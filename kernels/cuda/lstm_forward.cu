// Fused multi-layer (bi)directional LSTM forward, CUDA (crnn/lstm.h; a seq_length outside
// [0, T] goes to the error record, crnn_device_error_read). Per layer:
//   1. the input projection of all T frames, one cuBLAS GEMM per direction (gemm.cuh);
//   2. lstm_init: h, c from h0 / c0 (or zeros);
//   3. lstm_step: the recurrence (lstm_recurrence.cuh: persistent with a grid sync per step, or
//      one launch per step), both directions at once; each thread owns (sample, unit) pairs:
//      the four gate dot products with its block's W_hh slice, the bias, the cell update
//      (common/lstm_math.h), the output, and in training the reserve (common/lstm_layout.h);
//   4. lstm_final: h_n, c_n.
// Frames t >= seq_length[b] give zero output and reserve, and leave the state alone.
#include "../common/lstm_layout.h"
#include "../common/lstm_math.h"
#include "crnn/lstm.h"
#include "cuda_common.cuh"
#include "cuda_kernels.h"
#include "gemm.cuh"
#include "lstm_recurrence.cuh"

namespace crnn {
namespace CRNN_CUDA_NS {
namespace {

struct FwdParams {
  const float *gx[2];                // (T, B, 4H) input projections (no bias)
  const float *w_hh[2];              // (4H, H)
  const float *b_ih[2], *b_hh[2];    // (4H) or null
  const float *h0[2], *c0[2];        // (B, H) or null
  float *h_n[2], *c_n[2];            // (B, H)
  float *gates_rs[2], *cells_rs[2];  // reserve (T, B, 4H), (T, B, H); null: inference
  float *hbuf[2];                    // (2, B, H): h of the step before / after
  float *cbuf[2];                    // (B, H)
  float *y;                          // (T, B, D*H)
  const int32_t *seq;                // (B) or null
  int64_t T, B, H, D;
  RecPlan plan;
};

__global__ void lstm_init(FwdParams p, unsigned long long *record) {
  const int64_t n = p.D * p.B * p.H;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i / (p.B * p.H));
    const int64_t r = i % (p.B * p.H), b = r / p.H;
    p.hbuf[d][r] = p.h0[d] ? p.h0[d][r] : 0.0f;
    p.cbuf[d][r] = p.c0[d] ? p.c0[d][r] : 0.0f;
    if (d == 0 && r % p.H == 0) check_length(record, p.seq, b, p.T);
  }
}

// Step s of direction d for the block's units [j0, j0 + nj); w(g, jj, k) is the W_hh entry of
// gate g, unit j0 + jj, input k (from the shared slice or global memory).
template <typename W>
__device__ void forward_step(const FwdParams &p, int d, int64_t j0, int64_t nj, int64_t s, W w) {
  const int64_t H = p.H, G = 4 * H, DH = p.D * H;
  const float *hprev = p.hbuf[d] + (s & 1) * p.B * H;
  float *hnext = p.hbuf[d] + ((s + 1) & 1) * p.B * H;
  for (int64_t idx = threadIdx.x; idx < p.B * nj; idx += blockDim.x) {
    const int64_t b = idx / nj, jj = idx % nj, j = j0 + jj;
    const int64_t len = length_of(p.seq, b, p.T);
    if (s >= len) {  // past the sample: state frozen, frame s zero
      hnext[b * H + j] = hprev[b * H + j];
      p.y[(s * p.B + b) * DH + d * H + j] = 0.0f;
      if (p.gates_rs[d]) {
        for (int g = 0; g < 4; ++g) p.gates_rs[d][(s * p.B + b) * G + g * H + j] = 0.0f;
        p.cells_rs[d][(s * p.B + b) * H + j] = 0.0f;
      }
      continue;
    }
    const int64_t t = step_frame(d, s, len);
    const float *gx = p.gx[d] + (t * p.B + b) * G;
    const float *h = hprev + b * H;
    float z[4];
    for (int g = 0; g < 4; ++g) {
      z[g] = gx[g * H + j];
      if (p.b_ih[d]) z[g] += p.b_ih[d][g * H + j] + p.b_hh[d][g * H + j];
    }
    for (int64_t k = 0; k < H; ++k) {  // h[k] loaded once for the four gates
      const float hk = h[k];
      for (int g = 0; g < 4; ++g) z[g] += hk * w(g, jj, k);
    }
    const LstmCellForward<float> r =
        lstm_cell_forward(z[0], z[1], z[2], z[3], p.cbuf[d][b * H + j]);
    p.cbuf[d][b * H + j] = r.c;
    hnext[b * H + j] = r.h;
    p.y[(t * p.B + b) * DH + d * H + j] = r.h;
    if (p.gates_rs[d]) {
      float *gr = p.gates_rs[d] + (t * p.B + b) * G;
      gr[j] = r.i;
      gr[H + j] = r.f;
      gr[2 * H + j] = r.g;
      gr[3 * H + j] = r.o;
      p.cells_rs[d][(t * p.B + b) * H + j] = r.c;
    }
  }
}

// Persistent: steps [0, T) with a grid sync between them; per-step: the one step s0.
__global__ void __launch_bounds__(kRecThreads) lstm_step(FwdParams p, int64_t s0) {
  const int d = static_cast<int>(blockIdx.x / p.plan.blocks_per_dir);
  const int64_t j0 = int64_t(blockIdx.x % p.plan.blocks_per_dir) * p.plan.units;
  const int64_t nj = p.H - j0 < p.plan.units ? p.H - j0 : p.plan.units;
  const float *whh = p.w_hh[d];
  const int64_t H = p.H;
  if (!p.plan.persistent) {
    forward_step(p, d, j0, nj, s0,
                 [&](int g, int64_t jj, int64_t k) { return whh[(g * H + j0 + jj) * H + k]; });
    return;
  }
  // The slice, k-major so that the threads of a warp (consecutive units) read consecutive words.
  CRNN_DYNAMIC_SHARED(float, ws);
  const int64_t cols = 4 * nj;
  for (int64_t i = threadIdx.x; i < cols * H; i += blockDim.x) {
    const int64_t k = i / cols, r = i % cols, g = r / nj, jj = r % nj;
    ws[i] = whh[(g * H + j0 + jj) * H + k];
  }
  __syncthreads();
  for (int64_t s = 0; s < p.T; ++s) {
    forward_step(p, d, j0, nj, s,
                 [&](int g, int64_t jj, int64_t k) { return ws[k * cols + g * nj + jj]; });
    if (s + 1 < p.T) simt::grid_sync();
  }
}

__global__ void lstm_final(FwdParams p) {
  const int64_t n = p.D * p.B * p.H;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i / (p.B * p.H));
    const int64_t r = i % (p.B * p.H);
    p.h_n[d][r] = p.hbuf[d][(p.T & 1) * p.B * p.H + r];
    p.c_n[d][r] = p.cbuf[d][r];
  }
}

struct FwdWork {
  float *gx[2], *hbuf[2], *cbuf[2], *layer[2];
  size_t bytes;
};

FwdWork carve_forward(void *ws, int64_t T, int64_t B, int64_t H, int64_t D, int64_t L) {
  Carve c{static_cast<char *>(ws)};
  FwdWork w{};
  for (int64_t d = 0; d < D; ++d) {
    w.gx[d] = c.take<float>(T * B * 4 * H);
    w.hbuf[d] = c.take<float>(2 * B * H);
    w.cbuf[d] = c.take<float>(B * H);
  }
  for (int i = 0; i < (L > 1 ? 2 : 0); ++i) w.layer[i] = c.take<float>(T * B * D * H);
  w.bytes = c.used;
  return w;
}

bool weights_ok(const crnn_lstm_desc *d, const crnn_lstm_weights_f32 *w) {
  if (!w || !w->w_ih || !w->w_hh || (d->has_bias && (!w->b_ih || !w->b_hh))) return false;
  const int64_t n = int64_t(d->num_layers) * (d->bidirectional ? 2 : 1);
  for (int64_t i = 0; i < n; ++i)
    if (!w->w_ih[i] || !w->w_hh[i] || (d->has_bias && (!w->b_ih[i] || !w->b_hh[i]))) return false;
  return true;
}

crnn_status_t forward(float *y, float *h_n, float *c_n, float *reserve, const float *x,
                      const float *h0, const float *c0, const int32_t *seq,
                      const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *desc, void *workspace,
                      size_t workspace_bytes) {
  if (!lstm_desc_ok(desc) || !weights_ok(desc, w) || !y || !h_n || !c_n || !x)
    return CRNN_STATUS_INVALID_VALUE;
  const int64_t T = desc->T, B = desc->B, H = desc->H, L = desc->num_layers;
  const int64_t D = desc->bidirectional ? 2 : 1, G = 4 * H, DH = D * H;
  const FwdWork wk = carve_forward(workspace, T, B, H, D, L);
  if (!workspace || workspace_bytes < wk.bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  cudaStream_t stream = static_cast<cudaStream_t>(desc->stream);
  if (clear_error_record(workspace, stream) != cudaSuccess) return CRNN_STATUS_EXECUTION_FAILED;
  unsigned long long *record = error_record(workspace);
  const RecPlan plan = plan_recurrence(lstm_step, H, D);
  const unsigned state_blocks =
      blocks_for(D * B * H, 256) < 1024 ? blocks_for(D * B * H, 256) : 1024;

  const float *in = x;
  int64_t in_size = desc->I;
  for (int64_t l = 0; l < L; ++l) {
    float *out = l == L - 1 ? y
                 : reserve  ? reserve + lstm_reserve_output_offset(T, B, H, D, l)
                            : wk.layer[l % 2];
    FwdParams p{};
    for (int64_t d = 0; d < D; ++d) {
      const int64_t idx = l * D + d;
      if (gemm(stream, false, true, T * B, G, in_size, 1.0f, in, in_size, w->w_ih[idx], in_size,
               0.0f, wk.gx[d], G) != cudaSuccess)
        return CRNN_STATUS_EXECUTION_FAILED;
      p.gx[d] = wk.gx[d];
      p.w_hh[d] = w->w_hh[idx];
      p.b_ih[d] = desc->has_bias ? w->b_ih[idx] : nullptr;
      p.b_hh[d] = desc->has_bias ? w->b_hh[idx] : nullptr;
      p.h0[d] = h0 ? h0 + idx * B * H : nullptr;
      p.c0[d] = c0 ? c0 + idx * B * H : nullptr;
      p.h_n[d] = h_n + idx * B * H;
      p.c_n[d] = c_n + idx * B * H;
      p.gates_rs[d] = reserve ? reserve + lstm_reserve_gates_offset(T, B, H, D, l, d) : nullptr;
      p.cells_rs[d] = reserve ? reserve + lstm_reserve_cells_offset(T, B, H, D, l, d) : nullptr;
      p.hbuf[d] = wk.hbuf[d];
      p.cbuf[d] = wk.cbuf[d];
    }
    p.y = out;
    p.seq = seq;
    p.T = T, p.B = B, p.H = H, p.D = D;
    p.plan = plan;
    if (launch(lstm_init, dim3(state_blocks), dim3(256), 0, stream, p, record) != cudaSuccess)
      return CRNN_STATUS_EXECUTION_FAILED;
    const dim3 grid(unsigned(D * plan.blocks_per_dir));
    if (plan.persistent) {
      if (launch_cooperative(lstm_step, grid, dim3(kRecThreads), plan.shared_bytes, stream, p,
                             int64_t{0}) != cudaSuccess)
        return CRNN_STATUS_EXECUTION_FAILED;
    } else {
      for (int64_t s = 0; s < T; ++s)
        if (launch(lstm_step, grid, dim3(kRecThreads), 0, stream, p, s) != cudaSuccess)
          return CRNN_STATUS_EXECUTION_FAILED;
    }
    if (launch(lstm_final, dim3(state_blocks), dim3(256), 0, stream, p) != cudaSuccess)
      return CRNN_STATUS_EXECUTION_FAILED;
    in = out;
    in_size = DH;
  }
  return CRNN_STATUS_SUCCESS;
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn

extern "C" {

size_t CRNN_CUDA_ENTRY(lstm_forward_workspace_size)(const crnn_lstm_desc *d) {
  using namespace crnn::CRNN_CUDA_NS;
  if (!lstm_desc_ok(d)) return 0;
  return carve_forward(nullptr, d->T, d->B, d->H, d->bidirectional ? 2 : 1, d->num_layers).bytes;
}

crnn_status_t CRNN_CUDA_ENTRY(lstm_forward_f32)(float *y, float *h_n, float *c_n, float *reserve,
                                                const float *x, const float *h0, const float *c0,
                                                const int32_t *seq_length,
                                                const crnn_lstm_weights_f32 *w,
                                                const crnn_lstm_desc *d, void *workspace,
                                                size_t workspace_bytes) {
  return crnn::CRNN_CUDA_NS::forward(y, h_n, c_n, reserve, x, h0, c0, seq_length, w, d, workspace,
                                     workspace_bytes);
}

}  // extern "C"
