// Host-side tiling of the LSTM Ascend C kernels (op_kernel/lstm_forward.cpp, lstm_backward.cpp):
// inline functions a CANN op_host tiling function and our emulated host driver
// (host/lstm.cpp) both call. The cube tilings are filled here by a fixed rule (base 128 x 128 x
// 64 fp32, double-buffered L0A / L0B) that satisfies the documented constraints; a CANN tiling
// function may replace lstm_cube_tiling with matmul_tiling::MultiCoreMatmulTiling::GetTiling.
#pragma once

#include <stdint.h>

#include <algorithm>

#include "../op_kernel/lstm_tiling.h"
#include "ascend_tiling_util.h"

namespace crnn {
namespace ascend_lstm {

constexpr uint64_t kUbBytes = 192 * 1024;      // one AIV of a 910B / A3
constexpr uint64_t kUbLibReserve = 32 * 1024;  // Sigmoid / Tanh library scratch
constexpr uint64_t kUbBudget = kUbBytes - kUbLibReserve;

using ascend_tiling::round_up;

// C (M, N) = A (M, K) B (K, N) with one core's block (singleM, singleN, singleK).
inline TCubeTiling lstm_cube_tiling(int64_t M, int64_t N, int64_t K, int64_t singleM,
                                    int64_t singleN, int64_t singleK, bool bias, uint32_t cores) {
  TCubeTiling t{};
  t.usedCoreNum = int32_t(cores);
  t.M = int32_t(M), t.N = int32_t(N), t.Ka = int32_t(K), t.Kb = int32_t(K);
  t.singleCoreM = int32_t(singleM), t.singleCoreN = int32_t(singleN);
  t.singleCoreK = int32_t(singleK);
  t.baseM = int32_t(std::min<uint64_t>(128, round_up(uint64_t(singleM), 16)));
  t.baseN = int32_t(std::min<uint64_t>(128, round_up(uint64_t(singleN), 16)));
  t.baseK = int32_t(std::min<uint64_t>(64, round_up(uint64_t(singleK), 8)));
  t.depthA1 = t.depthB1 = 2;
  t.stepM = t.stepN = t.stepKa = t.stepKb = 1;
  t.isBias = bias ? 1 : 0;
  t.dbL0A = t.dbL0B = 2;
  t.dbL0C = 1;
  t.batchM = t.batchN = t.singleBatchM = t.singleBatchN = 1;
  return t;
}

// Shapes the kernels take: the Matmul's int32 shapes, the uint32 tiling fields and at most
// kLstmMaxPairs (layer, direction) pairs of weight offsets.
inline bool lstm_shape_ok(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L, int64_t D) {
  const int64_t lim = INT32_MAX;
  return L * D <= int64_t(kLstmMaxPairs) && T * B <= lim && 4 * H <= lim && I <= lim &&
         D * H <= lim && L * D <= lim && T * B * std::max(I, D * H) <= int64_t(UINT32_MAX) * 4;
}

// The flat weights' layout (csrc/aot_lstm.cpp): the L*D w_ih (4H, I_l) (I_0 = I, else D*H),
// the L*D w_hh (4H, H), then with biases the L*D b_ih and the L*D b_hh (4H each), each kind in
// l*D + d order. Requires L*D <= kLstmMaxPairs (lstm_shape_ok).
inline LstmWeightOffsets lstm_weight_offsets(int64_t I, int64_t H, int64_t L, int64_t D,
                                             bool bias) {
  LstmWeightOffsets w{};
  const uint64_t G = 4 * uint64_t(H), n = uint64_t(L * D);
  if (n > kLstmMaxPairs) return w;  // total 0: not a shape the kernels take
  uint64_t at = 0;
  for (uint32_t k = 0; k < (bias ? 4u : 2u); ++k)
    for (uint64_t i = 0; i < n; ++i) {
      w.off[i][k] = at;
      at += k >= 2 ? G : G * (k == 1 ? H : i < uint64_t(D) ? I : D * H);
    }
  w.total = at;
  return w;
}

// The fields both kernels' tilings share: shapes, weight offsets, the batch slices of the
// recurrence, the cores, the projection's rows per core and the most rows per UB tile that
// ub_bytes(R, Hp, Bp) keeps within kUbBudget (0: NOT_SUPPORTED).
template <typename Tiling>
inline Tiling lstm_common_tiling(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L, int64_t D,
                                 bool bias, uint32_t max_cores,
                                 uint64_t (*ub_bytes)(uint64_t, uint64_t, uint64_t)) {
  Tiling t{};
  t.T = uint32_t(T), t.B = uint32_t(B), t.I = uint32_t(I), t.H = uint32_t(H);
  t.L = uint32_t(L), t.D = uint32_t(D), t.G = uint32_t(4 * H);
  t.Hp = uint32_t(round_up(uint64_t(H), 8)), t.Bp = uint32_t(round_up(uint64_t(B), 8));
  t.hasBias = bias ? 1 : 0;
  const uint64_t TB = uint64_t(T) * B;
  t.slices = uint32_t(std::min<uint64_t>(uint64_t(B), std::max<uint64_t>(1, max_cores / D)));
  t.sliceMax = uint32_t((uint64_t(B) + t.slices - 1) / t.slices);
  t.coreNum = uint32_t(
      std::min<uint64_t>(max_cores, std::max<uint64_t>(uint64_t(D) * t.slices, (TB + 15) / 16)));
  t.projRows = uint32_t((TB + t.coreNum - 1) / t.coreNum);
  uint32_t R = t.sliceMax;
  while (R > 0 && ub_bytes(R, t.Hp, t.Bp) > kUbBudget) --R;
  t.rowsPerTile = R;
  t.weights = lstm_weight_offsets(I, H, L, D, bias);
  return t;
}

// The kernels' workspace regions, laid out in the order taken after the error record, each
// 256-byte aligned.
struct LstmWorkspace {
  uint64_t off = crnn::kDeviceErrorBytes;
  uint64_t take(uint64_t bytes) {
    const uint64_t at = off;
    off += round_up(bytes, 256);
    return at;
  }
  // The last regions: the (T*B, D*H) ping-pong layer buffers (empty for L = 1); the total
  // workspace bytes in *ws_bytes.
  template <typename Tiling>
  void take_layer_buffers(Tiling &t, uint64_t *ws_bytes) {
    const uint64_t layer = t.L > 1 ? uint64_t(t.T) * t.B * t.D * t.H * 4 : 0;
    t.bufOff[0] = take(layer);
    t.bufOff[1] = take(layer);
    if (ws_bytes) *ws_bytes = off;
  }
};

// Whether a kernel's UB at the tiling's rows per tile (ub_bytes) and the library scratch fit
// `ub` bytes; false also when not one sample's tile fits (rowsPerTile 0).
template <typename Tiling>
inline bool lstm_ub_fits(const Tiling &t, uint64_t (*ub_bytes)(uint64_t, uint64_t, uint64_t),
                         uint64_t ub) {
  return t.rowsPerTile > 0 && ub_bytes(t.rowsPerTile, t.Hp, t.Bp) + kUbLibReserve <= ub;
}

// UB bytes of the forward kernel's InitBuffer calls at R rows per tile.
inline uint64_t lstm_forward_ub_bytes(uint64_t R, uint64_t Hp, uint64_t Bp) {
  const uint64_t tile = R * Hp * 4;
  return 2 * 4 * tile + 2 * 4 * tile + 2 * tile + 2 * 6 * tile + tile + 4 * Hp * 4 + Bp * 4;
}

// The forward's tiling on at most max_cores vector cores; rowsPerTile = 0 when one sample's tile
// does not fit the UB budget (NOT_SUPPORTED). Workspace bytes in *ws_bytes.
inline LstmForwardTiling lstm_forward_tiling(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L,
                                             int64_t D, bool bias, uint32_t max_cores,
                                             uint64_t *ws_bytes) {
  LstmForwardTiling t = lstm_common_tiling<LstmForwardTiling>(T, B, I, H, L, D, bias, max_cores,
                                                              lstm_forward_ub_bytes);
  const uint64_t TB = uint64_t(T) * B;
  LstmWorkspace ws;
  t.gxOff = ws.take(uint64_t(D) * TB * t.G * 4);
  t.zOff = ws.take(uint64_t(D) * B * t.G * 4);
  t.hOff = ws.take(uint64_t(D) * B * H * 4);
  t.cOff = ws.take(uint64_t(D) * B * H * 4);
  ws.take_layer_buffers(t, ws_bytes);
  t.projTiling = lstm_cube_tiling(int64_t(TB), 4 * H, I, t.projRows, 4 * H, I, bias, t.coreNum);
  t.hiddenTiling = lstm_cube_tiling(B, 4 * H, H, t.sliceMax, 4 * H, H, bias, t.coreNum);
  return t;
}

// UB bytes of the backward kernel's InitBuffer calls at R rows per tile.
inline uint64_t lstm_backward_ub_bytes(uint64_t R, uint64_t Hp, uint64_t Bp) {
  const uint64_t tile = R * Hp * 4;
  return 2 * 4 * tile + 2 * 6 * tile + 2 * 6 * tile + 4 * tile + std::max<uint64_t>(4, R) * Hp * 4 +
         64 * 4 + Bp * 4;
}

// The backward's tiling on at most max_cores vector cores (rowsPerTile = 0: NOT_SUPPORTED).
inline LstmBackwardTiling lstm_backward_tiling(int64_t T, int64_t B, int64_t I, int64_t H,
                                               int64_t L, int64_t D, bool bias, uint32_t max_cores,
                                               uint64_t *ws_bytes) {
  LstmBackwardTiling t = lstm_common_tiling<LstmBackwardTiling>(T, B, I, H, L, D, bias, max_cores,
                                                                lstm_backward_ub_bytes);
  const uint64_t TB = uint64_t(T) * B;
  t.gRows =
      uint32_t(std::min<uint64_t>(round_up((uint64_t(t.G) + t.coreNum - 1) / t.coreNum, 16), t.G));
  LstmWorkspace ws;
  t.onesOff = ws.take(TB * 4);
  t.dzOff = ws.take(uint64_t(D) * TB * t.G * 4);
  t.zsOff = ws.take(uint64_t(D) * B * t.G * 4);
  t.dhOff = ws.take(uint64_t(D) * B * H * 4);
  t.dcOff = ws.take(uint64_t(D) * B * H * 4);
  t.hprevOff = ws.take(uint64_t(D) * TB * H * 4);
  ws.take_layer_buffers(t, ws_bytes);
  const int64_t G = 4 * H, gRows = t.gRows;
  t.dhTiling = lstm_cube_tiling(B, H, G, t.sliceMax, H, G, false, t.coreNum);
  t.dwTiling = lstm_cube_tiling(G, H, int64_t(TB), gRows, H, int64_t(TB), false, t.coreNum);
  t.dxTiling = lstm_cube_tiling(int64_t(TB), I, G, t.projRows, I, G, false, t.coreNum);
  return t;
}

}  // namespace ascend_lstm
}  // namespace crnn
