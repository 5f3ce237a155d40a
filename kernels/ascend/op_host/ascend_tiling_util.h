// Helpers of the Ascend C kernels' host tiling (shared by the CANN tiling functions here and the
// host drivers on our API model, ../host): plain C++, no CANN header.
#pragma once

#include <stdint.h>

#include <algorithm>

#include "common/device_error.h"

namespace crnn {
namespace ascend_tiling {

inline uint64_t round_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

// The smallest ReduceMax (count form) scratch in float elements on Atlas A2, per the API
// documentation: one (value, index) pair per 256-byte repeat of the first round, 32-byte
// aligned; with the index every further round's pairs are kept too.
inline uint32_t reduce_max_scratch(uint32_t count, bool index) {
  const uint32_t per_block = 8, per_repeat = 64;
  const uint32_t first = std::max<uint32_t>(count / per_repeat, 1) * 2;
  if (!index) return uint32_t(round_up(first, per_block));
  uint32_t total = uint32_t(round_up(first, per_block)), pairs = first;
  while (pairs > 2) {
    pairs = (pairs + per_repeat - 1) / per_repeat * 2;
    total += uint32_t(round_up(pairs, per_block));
  }
  return total;
}

// Workspace bytes of a kernel with per-sample error keys (op_kernel/kernel_common.h): the
// 256-byte record area, then one 8-byte key per sample.
inline uint64_t error_keys_workspace_bytes(int64_t B) {
  return crnn::kDeviceErrorBytes + round_up(uint64_t(B) * sizeof(uint64_t), 256);
}

}  // namespace ascend_tiling
}  // namespace crnn
