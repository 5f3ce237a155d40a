// Tiling data of the LSTM Ascend C kernels (lstm_forward.cpp, lstm_backward.cpp): plain structs
// the host fills (kernels/ascend/op_host/lstm_tiling_host.h) and the kernels read with
// GET_TILING_DATA. Sizes in elements unless named *Off (workspace byte offsets).
#pragma once

#include <stdint.h>

#include "kernel_tiling/kernel_tiling.h"

// (layer, direction) pairs the tiling holds weight offsets for: L * D <= 16 (NOT_SUPPORTED
// beyond; CRNN has 4).
constexpr uint32_t kLstmMaxPairs = 16;

// Where each parameter lives in the flat `weights` input (and the backward's `dweights`, the
// same layout): the aot entry's (csrc/aot_lstm.cpp), in float elements from the tensor's start.
// Pair i = l*D + d: off[i][0..3] = w_ih (4H, I_l), w_hh (4H, H), b_ih (4H), b_hh (4H) (the
// biases 0 without them); total = the tensor's element count.
struct LstmWeightOffsets {
  uint64_t off[kLstmMaxPairs][4];
  uint64_t total;
};

// Workspace (bytes from its start): [0, 256) unused by the kernel (on our API model the host
// driver passes it as the `error` output: the device error record, common/device_error.h);
// then the fp32 regions at the offsets below.
struct LstmForwardTiling {
  uint32_t T, B, I, H, L, D;
  uint32_t G;            // 4H
  uint32_t Hp;           // H rounded up to 8: one gate row of a UB tile (32 B aligned)
  uint32_t Bp;           // B rounded up to 8: the staged lengths
  uint32_t coreNum;      // vector cores (a CANN tiling: SetBlockDim(ceil(coreNum / 2)), MIX)
  uint32_t slices;       // batch slices per direction; unit u = (u / slices, u % slices)
  uint32_t sliceMax;     // ceil(B / slices): the hidden GEMM's singleCoreM
  uint32_t rowsPerTile;  // R: batch rows per UB tile of the gate step
  uint32_t projRows;     // rows of the T*B input projection per core (singleCoreM)
  uint32_t hasBias, hasH0, hasC0, hasSeq, train;
  uint32_t rsv;
  LstmWeightOffsets weights;
  uint64_t gxOff;            // D x (T*B, 4H) input projections + b_ih
  uint64_t zOff;             // D x (B, 4H) hidden products + b_hh of one step
  uint64_t hOff, cOff;       // D x (B, H) h and c states
  uint64_t bufOff[2];        // (T*B, D*H) layer outputs, ping-pong (inference, L > 1)
  TCubeTiling projTiling;    // (T*B, I) x (I, 4H), layer 0; later layers set K = D*H
  TCubeTiling hiddenTiling;  // (B, H) x (H, 4H)
};

// The backward: `weights` and `dweights` share the offsets; the workspace as the forward's.
struct LstmBackwardTiling {
  uint32_t T, B, I, H, L, D;
  uint32_t G, Hp, Bp;
  uint32_t coreNum, slices, sliceMax, rowsPerTile;
  uint32_t projRows;  // rows of T*B per core for din (singleCoreM)
  uint32_t gRows;     // rows of 4H per core for dW and columns for db (multiple of 16)
  uint32_t hasBias, hasH0, hasC0, hasSeq, hasDhn, hasDcn, hasDh0, hasDc0;
  uint32_t rsv;
  LstmWeightOffsets weights;
  uint64_t onesOff;       // (T*B) ones: the bias-gradient GEMM's A
  uint64_t dzOff;         // D x (T*B, 4H) pre-activation gradients of the layer
  uint64_t zsOff;         // D x (B, 4H) one step's dz rows (the dh GEMM's A)
  uint64_t dhOff, dcOff;  // D x (B, H) dh / dc carried back through time
  uint64_t hprevOff;      // D x (T*B, H) h entering each frame (the dW_hh GEMM's B)
  uint64_t bufOff[2];     // (T*B, D*H) gradients of inner layer outputs, ping-pong (L > 1)
  TCubeTiling dhTiling;   // (B, 4H) x (4H, H): dh += dz_step W_hh
  TCubeTiling dwTiling;   // (4H, T*B) x (T*B, H or I_l); also (1, T*B) x (T*B, 4H) for db
  TCubeTiling dxTiling;   // (T*B, 4H) x (4H, I_l)
};
