// The error record of a device call (crnn_device_error_read in crnn/status.h): device kernels
// check lengths, labels and score values without a host sync and keep the first failure as one
// 64-bit key in the first bytes of the call's workspace, updated with an atomic min. The key
// orders failures as the CPU backend reports them: argument errors (lengths, labels) before
// value errors (NaN, -inf frames), then by batch index, then -- within a sample -- the errors
// the CPU checks first before the `deferred` ones (the greedy decoder scans a sample of
// probabilities for negatives before it reads any frame), then by frame.
//   bit 62      0: argument error, 1: value error
//   bits 31-61  batch index (< 2^31)
//   bit 30      deferred
//   bits 3-29   frame + 1 (0: none; frames < 2^27 - 1)
//   bits 0-2    crnn_status_t
// All ones: no error. The record occupies kDeviceErrorBytes (the workspace alignment) so the
// buffers after it stay aligned.
#pragma once

#include <stdint.h>

#include "hostdevice.h"

namespace crnn {

constexpr uint64_t kNoDeviceError = ~uint64_t{0};
constexpr uint64_t kDeviceErrorBytes = 256;
constexpr int64_t kDeviceMaxFrames = (int64_t{1} << 27) - 2;  // largest T a device call takes

CRNN_HD_INLINE uint64_t device_error_key(bool value_error, int64_t b, int64_t frame, int status,
                                         bool deferred = false) {
  return (uint64_t(value_error) << 62) | (uint64_t(b) << 31) | (uint64_t(deferred) << 30) |
         (uint64_t(frame + 1) << 3) | uint64_t(status & 7);
}

struct DeviceError {
  int status;
  int32_t index, frame;
};

CRNN_HD_INLINE DeviceError decode_device_error(uint64_t key) {
  if (key == kNoDeviceError) return {0, -1, -1};
  return {int(key & 7), int32_t((key >> 31) & 0x7fffffff), int32_t(((key >> 3) & 0x7ffffff)) - 1};
}

}  // namespace crnn
