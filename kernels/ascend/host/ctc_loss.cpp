// Host driver of the CTC loss + gradient Ascend C kernel (op_kernel/ctc_loss.cpp) on our host
// model of the API: argument checks (the CUDA backend's statuses), the tiling
// (op_host/ctc_loss_tiling_host.h, shared with the CANN tiling function), one launch on min(B,
// 40) cores (the record at the start of the workspace), and the record read through
// crnn_ascend_emu_device_error_read. The test hooks (crnn::ascend_emu_kernels::ctc_loss_*) also
// take NULL lengths -- the kernel's path for the aot entries' config without them: T frames,
// labels up to their first blank / -1; the C API entries require both.
#include <stdio.h>
#include <string.h>

#include <functional>
#include <string>

#include "../ascend_kernels.h"
#include "../op_host/ctc_loss_tiling_host.h"
#include "common/device_error.h"
#include "kernel_decls.h"
#include "launch_kernel.h"

namespace {

bool dims_ok(int64_t T, int64_t B, int64_t C, int64_t S) {
  return T >= 0 && T <= crnn::kDeviceMaxFrames && B >= 0 && B <= INT32_MAX && C >= 2 &&
         C <= INT32_MAX && S >= 0 && S <= (int64_t{1} << 24);
}

// The C API entries take both lengths (crnn/ctc_loss.h).
crnn_status_t missing_lengths(const crnn_ctc_loss_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  return CRNN_STATUS_INVALID_VALUE;
}

}  // namespace

extern "C" size_t crnn_ascend_emu_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C,
                                                          int64_t S, size_t elem_bytes,
                                                          const crnn_ctc_loss_options *opt) {
  (void)opt;
  if (!dims_ok(T, B, C, S) || (elem_bytes != 4 && elem_bytes != 2)) return 0;
  return crnn::ascend_tiling::error_keys_workspace_bytes(B);
}

namespace {

using KernelEntry = decltype(&crnn_ctc_loss);

// One driver for the three storage types: elem_bytes 4 (float) or 2 (half / bfloat16_t).
crnn_status_t ctc_loss(KernelEntry kernel, const char *name, uint32_t elem_bytes,
                       uint32_t max_cores, float *loss, void *grad, const void *logits,
                       CRNN_ASCEND_CTC_LOSS_ARGS) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || max_cores < 1 || !dims_ok(T, B, C, S) || opt->blank < 0 || opt->blank >= C ||
      (B > 0 && (!loss || (S > 0 && !labels))) || (T > 0 && B > 0 && !logits))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace ||
      workspace_bytes < crnn_ascend_emu_ctc_loss_workspace_size(T, B, C, S, elem_bytes, opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error (aclrtMemsetAsync on CANN)
  if (B == 0) return CRNN_STATUS_SUCCESS;
  const CtcLossTiling tiling = crnn::ascend_tiling::ctc_loss_tiling(
      T, B, C, S, elem_bytes, opt->blank, opt->zero_infinity, grad != nullptr,
      input_lengths != nullptr, label_lengths != nullptr, max_cores,
      crnn::ascend_emu::kUbBytes910B);
  if (crnn::ascend_tiling::ctc_loss_ub_bytes(tiling) > crnn::ascend_emu::kUbBytes910B)
    return CRNN_STATUS_NOT_SUPPORTED;
  auto gm = [](const void *p) { return static_cast<uint8_t *>(const_cast<void *>(p)); };
  uint8_t *ws = gm(workspace);
  if (!crnn::ascend_emu_kernels::launch_kernel(name, tiling.coreNum, [&] {
        kernel(gm(logits), gm(labels), gm(input_lengths), gm(label_lengths), nullptr, gm(loss),
               gm(grad), ws, ws, gm(&tiling));
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

}  // namespace

// Per logits type: the test hook on at most max_cores cores (NULL lengths allowed) and the C API
// entry (both lengths required).
#define CRNN_CTC_LOSS_ENTRIES(suffix, kernel, elem_bytes, grad_t, logits_t)                       \
  crnn_status_t crnn::ascend_emu_kernels::ctc_loss_##suffix(uint32_t max_cores, float *loss,      \
                                                            grad_t *grad, const logits_t *logits, \
                                                            CRNN_ASCEND_CTC_LOSS_ARGS) {          \
    return ctc_loss(kernel, #kernel, elem_bytes, max_cores, loss, grad, logits, labels,           \
                    input_lengths, label_lengths, T, B, C, S, workspace, workspace_bytes, opt);   \
  }                                                                                               \
  extern "C" crnn_status_t crnn_ascend_emu_ctc_loss_##suffix(                                     \
      float *loss, grad_t *grad, const logits_t *logits, CRNN_ASCEND_CTC_LOSS_ARGS) {             \
    if (B > 0 && (!input_lengths || !label_lengths)) return missing_lengths(opt);                 \
    return crnn::ascend_emu_kernels::ctc_loss_##suffix(                                           \
        crnn::ascend_emu_kernels::kAivCores, loss, grad, logits, labels, input_lengths,           \
        label_lengths, T, B, C, S, workspace, workspace_bytes, opt);                              \
  }

CRNN_CTC_LOSS_ENTRIES(f32, crnn_ctc_loss, 4, float, float)
CRNN_CTC_LOSS_ENTRIES(f16, crnn_ctc_loss_half, 2, uint16_t, uint16_t)
CRNN_CTC_LOSS_ENTRIES(bf16, crnn_ctc_loss_bfloat16, 2, uint16_t, uint16_t)
