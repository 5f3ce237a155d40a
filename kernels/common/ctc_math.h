// CTC building blocks shared by every backend: the extended label sequence
// l' = (blank, l0, blank, l1, ..., blank) of length 2L+1, the skip rule and feasibility.
#pragma once

#include <stdint.h>

#include "hostdevice.h"

namespace crnn {

// Class of extended state s (0 <= s < 2L+1).
CRNN_HD_INLINE int32_t ctc_state_class(const int32_t *label, int64_t s, int32_t blank) {
  return (s & 1) ? label[s >> 1] : blank;
}

// True when a path may jump from state s-2 to state s (s is a label state whose label
// differs from the previous label; a blank state or a repeated label needs a blank between).
CRNN_HD_INLINE bool ctc_can_skip(const int32_t *label, int64_t s) {
  return (s & 1) && s >= 2 && label[s >> 1] != label[(s >> 1) - 1];
}

// Fewest frames that can emit `label`: its length plus one blank per adjacent repeat.
CRNN_HD_INLINE int64_t ctc_min_frames(const int32_t *label, int64_t L) {
  int64_t n = L;
  for (int64_t i = 1; i < L; ++i) n += label[i] == label[i - 1];
  return n;
}

}  // namespace crnn
