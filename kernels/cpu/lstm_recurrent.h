// The LSTM recurrence's register-tiled micro-kernel (CPU), shared by the forward
// (z_t = h_{t-1} W_hh^T) and the backward (dh_{t-1} = dZ_t W_hh).
//
// Why not one sgemm per step: OpenBLAS repacks its B operand (W_hh, 1 MB at H = 256) on every
// call, i.e. every frame, and the product (B, 4H) makes a round trip through memory before the
// pointwise pass reads it back. Here W_hh is packed once per call into panels of kPanel = 16
// columns (k-major: panel[k * 16 + n]); a tile of up to kRows = 6 rows x 16 columns is
// accumulated in 12 vector registers (the 6x16 shape of OpenBLAS's own Haswell kernel: 12
// FMAs per 2 loads + 6 broadcasts), then handed to the caller's epilogue (the cell update)
// while it is still in L1.
//   forward panels (pack_forward): per block of 8 hidden units, two panels: [i | f] and
//     [g | o], 8 units each, so one tile holds two gates of the same 8 units;
//   backward panels (pack_backward): per block of 16 hidden units, W_hh[r, unit], r < 4H.
// Units past H are zero columns (H need not be a multiple of 8 or 16).
#pragma once

#include <stdint.h>

namespace crnn {
namespace cpu {
namespace lstm_rec {

constexpr int64_t kPanel = 16;  // columns per panel (two 8-lane vectors)
constexpr int kRows = 6;        // rows per register tile
constexpr int64_t kFwdUnits = 8;

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Floats of the forward panels of one (4H, H) W_hh: ceil(H/8) blocks x 2 panels x H x 16.
inline int64_t forward_pack_size(int64_t H) {
  return ceil_div(H, kFwdUnits) * 2 * H * kPanel;
}

// Floats of the backward panels: ceil(H/16) blocks x 4H x 16.
inline int64_t backward_pack_size(int64_t H) {
  return ceil_div(H, kPanel) * 4 * H * kPanel;
}

// Forward panel p (0: gates i, f; 1: g, o) of unit block jb starts at
// panel + (jb * 2 + p) * H * 16; column n = gate-in-pair * 8 + unit-in-block. Packs the
// unit blocks [jb0, jb1) (the blocks are split over the cores).
void pack_forward(float *panel, const float *w_hh, int64_t H, int64_t jb0, int64_t jb1);

// Backward panel of unit block kb starts at panel + kb * 4H * 16: row r, column n holds
// W_hh[r, kb * 16 + n]. Packs the unit blocks [kb0, kb1).
void pack_backward(float *panel, const float *w_hh, int64_t H, int64_t kb0, int64_t kb1);

// Over rows r < mr (1..kRows): z0[r * ldz + 0..8) = sum_{k < K} a[r][k] * panel[k * 16 + 0..8)
// and z1[r * ldz + 0..8) the same over panel columns 8..16. Out of line, with its own SIMD
// clones: inlined into the recurrence, GCC kept the cell update's hoisted constants in vector
// registers across the K loop and spilled two of the 12 accumulators to the stack.
void tile(int mr, float *z0, float *z1, int64_t ldz, const float *const *a, int64_t K,
          const float *panel);

// tile() for one row over four consecutive panels at once (two forward unit blocks: [i f] and
// [g o] of units j0..j0+8, then of j0+8..j0+16): four independent accumulator chains where a
// one-row tile has one, whose FMA latency bounds it (inference at B = 1). Each sum still runs
// over k in order, so the results are tile()'s bit for bit. z rows as in the recurrence: gate q
// of unit j at z[q * Hp + j].
void tile_row4(float *z, int64_t Hp, int64_t j0, const float *a, int64_t K, const float *panels);

// ---- bfloat16 recurrence (the CPU matmul precision bfloat16, crnn/matmul_precision.h) ------
// W_hh and the tile's rows (h_{t-1}, dZ_t) rounded to bfloat16, float32 sums. kBf16Native
// (AVX512-BF16): the panels hold pair words (gemm_bf16.h), each tile's rows are converted once
// into a per-thread buffer, vdpbf16ps. kBf16Emulated: panels and rows as rounded floats through
// the float32 tile, the same numerics.
enum class Mode { kFloat32, kBf16Native, kBf16Emulated };
Mode mode();  // from the process-wide precision, read once per kernel call

// In place: `count` consecutive panels of K rows x 16 floats into the mode's form.
void prepare_panels(float *panel, int64_t K, int64_t count, Mode m);

// The rows of one tile in the mode's form; then its tiles over panels of prepare_panels.
class TileRows {
 public:
  TileRows(Mode m, int mr, const float *const *a, int64_t K);
  void tile(float *z0, float *z1, int64_t ldz, const float *panel) const;

 private:
  Mode m_;
  int mr_;
  int64_t K_;
  const float *const *a_;        // the caller's rows (kept for the unbuffered fallback)
  const float *rounded_[kRows];  // kBf16Emulated
  const uint32_t *pairs_;        // kBf16Native: mr rows of (K + 1) / 2 words
  bool buffered_;                // false: no memory for the buffer (a scalar loop rounds instead)
};

// Units rounded up to whole forward (8) / backward (16) blocks: the tiles write whole blocks.
inline int64_t forward_units(int64_t H) {
  return ceil_div(H, kFwdUnits) * kFwdUnits;
}
inline int64_t backward_units(int64_t H) {
  return ceil_div(H, kPanel) * kPanel;
}

}  // namespace lstm_rec
}  // namespace cpu
}  // namespace crnn
