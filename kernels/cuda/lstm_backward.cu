// LSTM stack backward through time, CUDA (crnn/lstm.h). Per layer, top down:
//   1. bptt_init: dh, dc carried into the last step from dh_n / dc_n (or zeros);
//   2. bptt_step, per step back in time (lstm_recurrence.cuh: persistent with a grid sync
//      between its two phases, or two launches per step), both directions at once:
//        gates  each (sample, unit) of the block: the cell backward (common/lstm_math.h) from
//               the reserve, writing the pre-activation gradients dG (T, B, 4H) of the frame
//        carry  dh carried to the step before = dG . W_hh for the block's units (W_hh
//               columns of its units in shared memory)
//   3. bptt_final: dh0, dc0;
//   4. after the loop, large GEMMs over all T*B rows (cuBLAS): dX = sum_d dG_d W_ih_d (the
//      layer below's dy), dW_ih = dG^T X, dW_hh = dG^T H_prev (prev_hidden builds H_prev),
//      and db = the column sums of dG (column_sums, a fixed order: deterministic).
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

struct BwdParams {
  const float *w_hh[2];              // (4H, H)
  const float *gates[2], *cells[2];  // reserve (T, B, 4H), (T, B, H)
  const float *c0[2];                // (B, H) or null
  const float *dy;                   // (T, B, D*H) gradient of the layer output
  const float *dh_n[2], *dc_n[2];    // (B, H) or null
  float *dh0[2], *dc0[2];            // (B, H) or null
  float *dg[2];                      // (T, B, 4H) out
  float *dh[2], *dc[2];              // (B, H) carried state
  const int32_t *seq;
  int64_t T, B, H, D;
  RecPlan plan;
};

__global__ void bptt_init(BwdParams p, unsigned long long *record) {
  const int64_t n = p.D * p.B * p.H;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i / (p.B * p.H));
    const int64_t r = i % (p.B * p.H), b = r / p.H;
    p.dh[d][r] = p.dh_n[d] ? p.dh_n[d][r] : 0.0f;
    p.dc[d][r] = p.dc_n[d] ? p.dc_n[d][r] : 0.0f;
    if (d == 0 && r % p.H == 0) check_length(record, p.seq, b, p.T);
  }
}

// Phase 1 of step k: the gate gradients of the block's units at the step's frame.
__device__ void gates_step(const BwdParams &p, int d, int64_t j0, int64_t nj, int64_t k) {
  const int64_t H = p.H, G = 4 * H;
  for (int64_t idx = threadIdx.x; idx < p.B * nj; idx += blockDim.x) {
    const int64_t b = idx / nj, j = j0 + idx % nj;
    const int64_t len = length_of(p.seq, b, p.T);
    if (k >= len) {  // frame k is past the sample: no gradient
      for (int g = 0; g < 4; ++g) p.dg[d][(k * p.B + b) * G + g * H + j] = 0.0f;
      continue;
    }
    const int64_t t = step_frame(d, k, len);
    const float *gt = p.gates[d] + (t * p.B + b) * G;
    float c_prev = p.c0[d] ? p.c0[d][b * H + j] : 0.0f;
    if (k > 0) c_prev = p.cells[d][(step_frame(d, k - 1, len) * p.B + b) * H + j];
    const float dh = p.dy[(t * p.B + b) * p.D * H + d * H + j] + p.dh[d][b * H + j];
    const LstmCellBackward<float> r =
        lstm_cell_backward(dh, p.dc[d][b * H + j], gt[j], gt[H + j], gt[2 * H + j], gt[3 * H + j],
                           c_prev, p.cells[d][(t * p.B + b) * H + j]);
    float *dg = p.dg[d] + (t * p.B + b) * G;
    dg[j] = r.dzi;
    dg[H + j] = r.dzf;
    dg[2 * H + j] = r.dzg;
    dg[3 * H + j] = r.dzo;
    p.dc[d][b * H + j] = r.dc_prev;
  }
}

// Phase 2 of step k: dh carried to step k-1 for the block's units; w(r, jj) = W_hh[r, j0 + jj].
template <typename W>
__device__ void carry_step(const BwdParams &p, int d, int64_t j0, int64_t nj, int64_t k, W w) {
  const int64_t G = 4 * p.H;
  for (int64_t idx = threadIdx.x; idx < p.B * nj; idx += blockDim.x) {
    const int64_t b = idx / nj, jj = idx % nj;
    const int64_t len = length_of(p.seq, b, p.T);
    if (k >= len) continue;  // the carried gradient passes frozen steps unchanged
    const float *dg = p.dg[d] + (step_frame(d, k, len) * p.B + b) * G;
    float acc = 0.0f;
    for (int64_t r = 0; r < G; ++r) acc += dg[r] * w(r, jj);
    p.dh[d][b * p.H + j0 + jj] = acc;
  }
}

// Persistent: every step from T-1 down; per-step: phase `phase` (0 gates, 1 carry) of step k0.
__global__ void __launch_bounds__(kRecThreads) bptt_step(BwdParams p, int64_t k0, int phase) {
  const int d = static_cast<int>(blockIdx.x / p.plan.blocks_per_dir);
  const int64_t j0 = int64_t(blockIdx.x % p.plan.blocks_per_dir) * p.plan.units;
  const int64_t nj = p.H - j0 < p.plan.units ? p.H - j0 : p.plan.units, H = p.H;
  const float *whh = p.w_hh[d];
  if (!p.plan.persistent) {
    if (phase == 0)
      gates_step(p, d, j0, nj, k0);
    else
      carry_step(p, d, j0, nj, k0, [&](int64_t r, int64_t jj) { return whh[r * H + j0 + jj]; });
    return;
  }
  CRNN_DYNAMIC_SHARED(float, ws);  // W_hh[:, j0 : j0 + nj], row-major (4H, nj)
  for (int64_t i = threadIdx.x; i < 4 * H * nj; i += blockDim.x)
    ws[i] = whh[(i / nj) * H + j0 + i % nj];
  __syncthreads();
  for (int64_t k = p.T - 1; k >= 0; --k) {
    gates_step(p, d, j0, nj, k);
    simt::grid_sync();  // every unit's dG of step k is written
    carry_step(p, d, j0, nj, k, [&](int64_t r, int64_t jj) { return ws[r * nj + jj]; });
  }
}

__global__ void bptt_final(BwdParams p) {
  const int64_t n = p.D * p.B * p.H;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i / (p.B * p.H));
    const int64_t r = i % (p.B * p.H);
    if (p.dh0[d]) p.dh0[d][r] = p.dh[d][r];
    if (p.dc0[d]) p.dc0[d][r] = p.dc[d][r];
  }
}

// H_prev (T, B, H) of direction d: the hidden state each frame's step started from (the layer
// output of the frame before in the step order, or h0); zero past the sample.
__global__ void prev_hidden(float *hp, const float *y_l, const float *h0, const int32_t *seq, int d,
                            int64_t T, int64_t B, int64_t H, int64_t D) {
  const int64_t n = T * B * H;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = i / (B * H), b = i / H % B, j = i % H;
    const int64_t len = length_of(seq, b, T);
    float v = 0.0f;
    if (t < len) {
      const int64_t tp = d == 0 ? t - 1 : t + 1;
      const bool first = d == 0 ? t == 0 : t == len - 1;
      v = first ? (h0 ? h0[b * H + j] : 0.0f) : y_l[(tp * B + b) * D * H + d * H + j];
    }
    hp[i] = v;
  }
}

// out[c] = sum over rows r of m[r, c] (rows in order), for `cols` columns.
__global__ void column_sums(float *out, const float *m, int64_t rows, int64_t cols) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float s = 0.0f;
  for (int64_t r = 0; r < rows; ++r) s += m[r * cols + c];
  out[c] = s;
}

struct BwdWork {
  float *dg[2], *dh[2], *dc[2], *hprev, *dlayer[2];
  size_t bytes;
};

BwdWork carve_backward(void *ws, int64_t T, int64_t B, int64_t H, int64_t D, int64_t L) {
  Carve c{static_cast<char *>(ws)};
  BwdWork w{};
  for (int64_t d = 0; d < D; ++d) {
    w.dg[d] = c.take<float>(T * B * 4 * H);
    w.dh[d] = c.take<float>(B * H);
    w.dc[d] = c.take<float>(B * H);
  }
  w.hprev = c.take<float>(T * B * H);
  for (int i = 0; i < (L > 1 ? 2 : 0); ++i) w.dlayer[i] = c.take<float>(T * B * D * H);
  w.bytes = c.used;
  return w;
}

bool args_ok(const crnn_lstm_desc *d, const crnn_lstm_weights_f32 *w, float *const *dw_ih,
             float *const *dw_hh, float *const *db_ih, float *const *db_hh) {
  if (!w || !w->w_ih || !w->w_hh || !dw_ih || !dw_hh) return false;
  if (d->has_bias && (!w->b_ih || !w->b_hh || !db_ih || !db_hh)) return false;
  const int64_t n = int64_t(d->num_layers) * (d->bidirectional ? 2 : 1);
  for (int64_t i = 0; i < n; ++i) {
    if (!w->w_ih[i] || !w->w_hh[i] || !dw_ih[i] || !dw_hh[i]) return false;
    if (d->has_bias && (!w->b_ih[i] || !w->b_hh[i] || !db_ih[i] || !db_hh[i])) return false;
  }
  return true;
}

// dX, dW_ih, dW_hh and db of layer l once its dG are known.
cudaError_t layer_gemms(const BwdWork &wk, float *dx_l, const float *x_l, int64_t in_size,
                        const float *y_l, const float *h0, const int32_t *seq,
                        const crnn_lstm_weights_f32 *w, float *const *dw_ih, float *const *dw_hh,
                        float *const *db_ih, float *const *db_hh, const crnn_lstm_desc *desc,
                        int64_t l, cudaStream_t stream) {
  const int64_t T = desc->T, B = desc->B, H = desc->H, G = 4 * H;
  const int64_t D = desc->bidirectional ? 2 : 1, TB = T * B;
  cudaError_t e = cudaSuccess;
  for (int64_t d = 0; d < D && e == cudaSuccess; ++d) {
    const int64_t idx = l * D + d;
    e = gemm(stream, false, false, TB, in_size, G, 1.0f, wk.dg[d], G, w->w_ih[idx], in_size,
             d == 0 ? 0.0f : 1.0f, dx_l, in_size);
    if (e == cudaSuccess)
      e = gemm(stream, true, false, G, in_size, TB, 1.0f, wk.dg[d], G, x_l, in_size, 0.0f,
               dw_ih[idx], in_size);
    if (e == cudaSuccess)
      e = launch(prev_hidden, dim3(blocks_for(TB * H, 256) < 4096 ? blocks_for(TB * H, 256) : 4096),
                 dim3(256), 0, stream, wk.hprev, y_l, h0 ? h0 + idx * B * H : nullptr, seq, int(d),
                 T, B, H, D);
    if (e == cudaSuccess)
      e = gemm(stream, true, false, G, H, TB, 1.0f, wk.dg[d], G, wk.hprev, H, 0.0f, dw_hh[idx], H);
    if (e == cudaSuccess && desc->has_bias) {
      e = launch(column_sums, dim3(blocks_for(G, 128)), dim3(128), 0, stream, db_ih[idx], wk.dg[d],
                 TB, G);
      if (e == cudaSuccess)
        e = cudaMemcpyAsync(db_hh[idx], db_ih[idx], G * sizeof(float), cudaMemcpyDefault, stream);
    }
  }
  return e;
}

crnn_status_t backward(float *dx, float *dh0, float *dc0, float *const *dw_ih, float *const *dw_hh,
                       float *const *db_ih, float *const *db_hh, const float *dy, const float *dh_n,
                       const float *dc_n, const float *x, const float *y, const float *h0,
                       const float *c0, const int32_t *seq, const float *reserve,
                       const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *desc, void *workspace,
                       size_t workspace_bytes) {
  if (!lstm_desc_ok(desc) || !args_ok(desc, w, dw_ih, dw_hh, db_ih, db_hh) || !dx || !dy || !x ||
      !y || !reserve)
    return CRNN_STATUS_INVALID_VALUE;
  const int64_t T = desc->T, B = desc->B, H = desc->H, L = desc->num_layers;
  const int64_t D = desc->bidirectional ? 2 : 1, BH = B * H;
  const BwdWork wk = carve_backward(workspace, T, B, H, D, L);
  if (!workspace || workspace_bytes < wk.bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  cudaStream_t stream = static_cast<cudaStream_t>(desc->stream);
  if (clear_error_record(workspace, stream) != cudaSuccess) return CRNN_STATUS_EXECUTION_FAILED;
  unsigned long long *record = error_record(workspace);
  const RecPlan plan = plan_recurrence(bptt_step, H, D);
  const unsigned state_blocks = blocks_for(D * BH, 256) < 1024 ? blocks_for(D * BH, 256) : 1024;

  const float *dy_l = dy;
  for (int64_t l = L - 1; l >= 0; --l) {
    const float *x_l = l == 0 ? x : reserve + lstm_reserve_output_offset(T, B, H, D, l - 1);
    const float *y_l = l == L - 1 ? y : reserve + lstm_reserve_output_offset(T, B, H, D, l);
    const int64_t in_size = l == 0 ? desc->I : D * H;
    float *dx_l = l == 0 ? dx : wk.dlayer[l % 2];
    BwdParams p{};
    for (int64_t d = 0; d < D; ++d) {
      const int64_t idx = l * D + d;
      p.w_hh[d] = w->w_hh[idx];
      p.gates[d] = reserve + lstm_reserve_gates_offset(T, B, H, D, l, d);
      p.cells[d] = reserve + lstm_reserve_cells_offset(T, B, H, D, l, d);
      p.c0[d] = c0 ? c0 + idx * BH : nullptr;
      p.dh_n[d] = dh_n ? dh_n + idx * BH : nullptr;
      p.dc_n[d] = dc_n ? dc_n + idx * BH : nullptr;
      p.dh0[d] = dh0 ? dh0 + idx * BH : nullptr;
      p.dc0[d] = dc0 ? dc0 + idx * BH : nullptr;
      p.dg[d] = wk.dg[d];
      p.dh[d] = wk.dh[d];
      p.dc[d] = wk.dc[d];
    }
    p.dy = dy_l;
    p.seq = seq;
    p.T = T, p.B = B, p.H = H, p.D = D;
    p.plan = plan;
    if (launch(bptt_init, dim3(state_blocks), dim3(256), 0, stream, p, record) != cudaSuccess)
      return CRNN_STATUS_EXECUTION_FAILED;
    const dim3 grid(unsigned(D * plan.blocks_per_dir));
    if (plan.persistent) {
      if (launch_cooperative(bptt_step, grid, dim3(kRecThreads), plan.shared_bytes, stream, p,
                             int64_t{0}, 0) != cudaSuccess)
        return CRNN_STATUS_EXECUTION_FAILED;
    } else {
      for (int64_t k = T - 1; k >= 0; --k)
        for (int phase = 0; phase < 2; ++phase)
          if (launch(bptt_step, grid, dim3(kRecThreads), 0, stream, p, k, phase) != cudaSuccess)
            return CRNN_STATUS_EXECUTION_FAILED;
    }
    if (launch(bptt_final, dim3(state_blocks), dim3(256), 0, stream, p) != cudaSuccess ||
        layer_gemms(wk, dx_l, x_l, in_size, y_l, h0, seq, w, dw_ih, dw_hh, db_ih, db_hh, desc, l,
                    stream) != cudaSuccess)
      return CRNN_STATUS_EXECUTION_FAILED;
    dy_l = dx_l;
  }
  return CRNN_STATUS_SUCCESS;
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn

extern "C" {

size_t CRNN_CUDA_ENTRY(lstm_backward_workspace_size)(const crnn_lstm_desc *d) {
  using namespace crnn::CRNN_CUDA_NS;
  if (!lstm_desc_ok(d)) return 0;
  return carve_backward(nullptr, d->T, d->B, d->H, d->bidirectional ? 2 : 1, d->num_layers).bytes;
}

crnn_status_t CRNN_CUDA_ENTRY(lstm_backward_f32)(
    float *dx, float *dh0, float *dc0, float *const *dw_ih, float *const *dw_hh,
    float *const *db_ih, float *const *db_hh, const float *dy, const float *dh_n, const float *dc_n,
    const float *x, const float *y, const float *h0, const float *c0, const int32_t *seq_length,
    const float *reserve, const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d, void *workspace,
    size_t workspace_bytes) {
  return crnn::CRNN_CUDA_NS::backward(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dy, dh_n, dc_n, x,
                                      y, h0, c0, seq_length, reserve, w, d, workspace,
                                      workspace_bytes);
}

}  // extern "C"
