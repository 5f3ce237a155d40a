// crnn_fast kernel C API: status codes and where a call runs (all backends, all ops).
//
// The API is plain C: option / descriptor structs zero-initialised by the caller, pointers to
// memory on the call's device, and a crnn_status_t result. Kernels never throw or allocate
// across the C boundary: scratch is the caller's `workspace`, and when an option struct carries
// an `error_index`, the offending batch index is written there (and, for CTC, the offending
// frame into `error_frame`).
//
// Every option / descriptor struct has `device` (crnn_device_t) and `stream`: zero-initialised,
// a call runs on the CPU (stream ignored). CRNN_DEVICE_CUDA takes a cudaStream_t (NULL: the
// default stream) and CRNN_DEVICE_ASCEND an aclrtStream; the data pointers are then device
// memory. A device whose backend was not compiled into the library gives NOT_SUPPORTED; a
// device value outside crnn_device_t gives INVALID_VALUE.
//
// Score values (CTC loss logits, decoder scores given as logits or log-probabilities): -inf is
// probability 0 and accepted; NaN and +inf are NONFINITE_INPUT; a frame that is -inf for every
// class (no class has non-zero probability) is NEG_INF_FRAME. For probabilities, -inf is a
// negative value (INVALID_VALUE).
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum crnn_status_t {
  CRNN_STATUS_SUCCESS = 0,
  CRNN_STATUS_INVALID_VALUE = 1,        // a size, length, label or option out of range
  CRNN_STATUS_NONFINITE_INPUT = 2,      // NaN or +Inf (or -Inf where not a log-probability)
  CRNN_STATUS_WORKSPACE_TOO_SMALL = 3,  // workspace_bytes < *_workspace_size(...)
  CRNN_STATUS_EXECUTION_FAILED = 4,     // backend failure (kernel launch, thread pool)
  CRNN_STATUS_NOT_SUPPORTED = 5,        // backend or configuration not compiled in
  CRNN_STATUS_NEG_INF_FRAME = 6,        // a CTC frame is -inf for every class (error_frame)
} crnn_status_t;

static inline const char *crnn_status_string(crnn_status_t s) {
  switch (s) {
    case CRNN_STATUS_SUCCESS: return "success";
    case CRNN_STATUS_INVALID_VALUE: return "invalid value";
    case CRNN_STATUS_NONFINITE_INPUT: return "non-finite input (NaN or +Inf)";
    case CRNN_STATUS_WORKSPACE_TOO_SMALL: return "workspace too small";
    case CRNN_STATUS_EXECUTION_FAILED: return "execution failed";
    case CRNN_STATUS_NOT_SUPPORTED: return "not supported";
    case CRNN_STATUS_NEG_INF_FRAME:
      return "a frame is -inf for every class (no class has non-zero probability)";
  }
  return "unknown status";
}

// Where a call runs. Zero (CPU) is what a zero-initialised option struct says.
typedef enum crnn_device_t {
  CRNN_DEVICE_CPU = 0,
  CRNN_DEVICE_CUDA = 1,    // stream: cudaStream_t
  CRNN_DEVICE_ASCEND = 2,  // stream: aclrtStream
  // The CUDA kernels' source run on the CPU by the SIMT executor (kernels/simt/): a test
  // harness, not a GPU. Memory is host memory; the stream is ignored; calls are synchronous.
  CRNN_DEVICE_CUDA_EMU = 3,
  // The Ascend C kernels' source run on the CPU by our host model of the Ascend C API
  // (kernels/ascend/emu/): a model of the API, not CANN, not an NPU. Host memory; the stream is
  // ignored; calls are synchronous. Ops without an Ascend C kernel yet give NOT_SUPPORTED.
  CRNN_DEVICE_ASCEND_EMU = 4,
} crnn_device_t;

// 1 when this build of the library has a backend for `device`, else 0.
int crnn_device_compiled(int32_t device);

// Value errors of a device call. On a device (CUDA, CUDA_EMU, ASCEND_EMU) the kernels check
// lengths, labels and score values on the device, without a host sync, so a call's own status
// covers only what the host sees (sizes, options, pointers, workspace, the launch). The first
// failing sample is recorded in the first bytes of the call's workspace instead (the CPU's order:
// length/label errors first, then by batch index, then by frame), and its outputs are NaN as on
// the CPU. This reads the record -- waiting for `stream` -- and returns its status
// (SUCCESS when none), writing the batch index and frame (or -1) where the pointers are set.
// On the CPU, where calls report value errors themselves, it returns SUCCESS.
crnn_status_t crnn_device_error_read(const void *workspace, int32_t device, void *stream,
                                     int32_t *error_index, int32_t *error_frame);

#ifdef __cplusplus
}
#endif
