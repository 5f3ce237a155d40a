// The CPU's float16 / bfloat16 CTC loss (ctc_loss_narrow.cpp) runs the float32 kernel
// (ctc_loss.cpp) on chunks of samples staged as float32 at the start of its workspace.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "crnn/ctc_loss.h"

namespace crnn {
namespace cpu {

// Bytes of a float16 / bfloat16 call (crnn_ctc_loss_workspace_size with elem_bytes 2).
size_t ctc_narrow_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S,
                                 const crnn_ctc_loss_options *opt);

// The argument checks of every CPU CTC loss (ctc_loss.cpp): clears the error outputs, returns
// INVALID_VALUE for bad pointers, sizes, blank, lengths or labels (error_index: the sample).
crnn_status_t ctc_loss_check_args(const void *loss, const void *logits, const int32_t *labels,
                                  const int32_t *input_lengths, const int32_t *label_lengths,
                                  int64_t T, int64_t B, int64_t C, int64_t S,
                                  const crnn_ctc_loss_options *opt);

}  // namespace cpu
}  // namespace crnn
