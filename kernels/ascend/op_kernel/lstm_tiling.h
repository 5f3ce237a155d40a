// Tiling data of the LSTM Ascend C kernels (lstm_forward.cpp, lstm_backward.cpp): plain structs
// the host fills (kernels/ascend/op_host/lstm_tiling_host.h) and the kernels read with
// GET_TILING_DATA. Sizes in elements unless named *Off (workspace byte offsets).
#pragma once

#include <stdint.h>

#include "kernel_tiling/kernel_tiling.h"

// Workspace (bytes from its start): [0, 256) the device error record (common/device_error.h);
// the weight table (per layer l, direction d: the GM addresses of w_ih, w_hh, b_ih, b_hh as
// uint64, at (l*D + d)*4); then the fp32 regions at the offsets below.
struct LstmForwardTiling {
  uint32_t T, B, I, H, L, D;
  uint32_t G;            // 4H
  uint32_t Hp;           // H rounded up to 8: one gate row of a UB tile (32 B aligned)
  uint32_t Bp;           // B rounded up to 8: the staged lengths
  uint32_t coreNum;      // vector cores launched
  uint32_t slices;       // batch slices per direction; unit u = (u / slices, u % slices)
  uint32_t sliceMax;     // ceil(B / slices): the hidden GEMM's singleCoreM
  uint32_t rowsPerTile;  // R: batch rows per UB tile of the gate step
  uint32_t projRows;     // rows of the T*B input projection per core (singleCoreM)
  uint32_t hasBias, hasH0, hasC0, hasSeq, train;
  uint32_t rsv;
  uint64_t tableOff;         // weight table
  uint64_t gxOff;            // D x (T*B, 4H) input projections + b_ih
  uint64_t zOff;             // D x (B, 4H) hidden products + b_hh of one step
  uint64_t hOff, cOff;       // D x (B, H) h and c states
  uint64_t bufOff[2];        // (T*B, D*H) layer outputs, ping-pong (inference, L > 1)
  TCubeTiling projTiling;    // (T*B, I) x (I, 4H), layer 0; later layers set K = D*H
  TCubeTiling hiddenTiling;  // (B, H) x (H, 4H)
};

// The backward: the forward's regions plus the gate gradients of all frames.
struct LstmBackwardTiling {
  uint32_t T, B, I, H, L, D;
  uint32_t G, Hp, Bp;
  uint32_t coreNum, slices, sliceMax, rowsPerTile;
  uint32_t projRows;  // rows of T*B per core for dx (singleCoreM)
  uint32_t gRows;     // rows of 4H per core for dW (singleCoreM of the weight GEMMs)
  uint32_t hasBias, hasH0, hasC0, hasSeq, hasDhn, hasDcn, hasDh0, hasDc0;
  uint32_t rsv;
  uint64_t tableOff;      // forward weight table, then the gradient table (dw_ih, dw_hh, db_ih,
                          // db_hh addresses per (l, d)) at tableOff + L*D*32
  uint64_t dzOff;         // D x (T*B, 4H) pre-activation gradients of the layer
  uint64_t dhOff, dcOff;  // D x (B, H) dh / dc carried back through time
  uint64_t hprevOff;      // D x (T*B, H) h_{t-1} per frame (the dW_hh GEMM's B operand)
  uint64_t dyOff;         // (T*B, D*H) gradient w.r.t. the layer's output (from the layer above)
  uint64_t dinOff;        // (T*B, D*H) gradient w.r.t. the layer's input (to the layer below)
  TCubeTiling dhTiling;   // (B, 4H) x (4H, H): dh_{t-1} = dz W_hh
  TCubeTiling dxTiling;   // (T*B, 4H) x (4H, I_l): dx = dz W_ih, K = 4H; N per layer
  TCubeTiling dwTiling;   // (4H, T*B) x (T*B, K_l): dW = dz^T in / h_prev, K = T*B
};
