// The CPU's float16 / bfloat16 CTC loss (ctc_loss_narrow.cpp) stages float32 copies of the
// logits and the gradient at the start of its workspace; the float32 kernel's scratch follows.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace crnn {
namespace cpu {

// Bytes of the two float32 (T, B, C) staging buffers, each 64-byte aligned.
size_t ctc_narrow_staging_bytes(int64_t T, int64_t B, int64_t C);

}  // namespace cpu
}  // namespace crnn
