// Host driver of the CTC loss + gradient Ascend C kernel (op_kernel/ctc_loss.cpp) on our host
// model of the API: argument checks (the CUDA backend's statuses), the tiling
// (op_host/ctc_loss_tiling_host.h, shared with a CANN op_host tiling function), the two launches
// (the loss on min(B, 40) cores, then the greedy decoder's one-core error reduction, which reads
// the same workspace layout), and the record read through crnn_ascend_emu_device_error_read.
#include <stdio.h>
#include <string.h>

#include <functional>
#include <string>

#include "../ascend_kernels.h"
#include "../op_host/ctc_loss_tiling_host.h"
#include "../op_kernel/ctc_greedy_tiling.h"
#include "common/device_error.h"
#include "emu_launch.h"

extern "C" void crnn_ctc_loss(uint8_t *logits, uint8_t *labels, uint8_t *input_lengths,
                              uint8_t *label_lengths, uint8_t *loss, uint8_t *grad,
                              uint8_t *workspace, uint8_t *tiling);
extern "C" void crnn_ctc_loss_half(uint8_t *logits, uint8_t *labels, uint8_t *input_lengths,
                                   uint8_t *label_lengths, uint8_t *loss, uint8_t *grad,
                                   uint8_t *workspace, uint8_t *tiling);
extern "C" void crnn_ctc_loss_bfloat16(uint8_t *logits, uint8_t *labels, uint8_t *input_lengths,
                                       uint8_t *label_lengths, uint8_t *loss, uint8_t *grad,
                                       uint8_t *workspace, uint8_t *tiling);
extern "C" void crnn_ctc_greedy_error_reduce(uint8_t *workspace, uint8_t *tiling);

namespace {

bool dims_ok(int64_t T, int64_t B, int64_t C, int64_t S) {
  return T >= 0 && T <= crnn::kDeviceMaxFrames && B >= 0 && B <= INT32_MAX && C >= 2 &&
         C <= INT32_MAX && S >= 0 && S <= (int64_t{1} << 24);
}

bool run(const char *what, uint32_t cores, const std::function<void()> &kernel) {
  const std::string err = crnn::ascend_emu::launch(cores, crnn::ascend_emu::kUbBytes910B, kernel);
  if (err.empty()) return true;
  fprintf(stderr, "crnn_fast ascend-emu %s: %s\n", what, err.c_str());
  return false;
}

}  // namespace

extern "C" size_t crnn_ascend_emu_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C,
                                                          int64_t S, size_t elem_bytes,
                                                          const crnn_ctc_loss_options *opt) {
  (void)opt;
  if (!dims_ok(T, B, C, S) || (elem_bytes != 4 && elem_bytes != 2)) return 0;
  return crnn::kDeviceErrorBytes + crnn::ascend_tiling::round_up(uint64_t(B) * 8, 256);
}

namespace {

using KernelEntry = void (*)(uint8_t *, uint8_t *, uint8_t *, uint8_t *, uint8_t *, uint8_t *,
                             uint8_t *, uint8_t *);

// One driver for the three storage types: elem_bytes 4 (float) or 2 (half / bfloat16_t).
crnn_status_t ctc_loss(KernelEntry kernel, const char *name, uint32_t elem_bytes,
                       uint32_t max_cores, float *loss, void *grad, const void *logits,
                       const int32_t *labels, const int32_t *input_lengths,
                       const int32_t *label_lengths, int64_t T, int64_t B, int64_t C, int64_t S,
                       void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || max_cores < 1 || !dims_ok(T, B, C, S) || opt->blank < 0 || opt->blank >= C ||
      (B > 0 && (!loss || !labels || !input_lengths || !label_lengths)) ||
      (T > 0 && B > 0 && !logits))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace ||
      workspace_bytes < crnn_ascend_emu_ctc_loss_workspace_size(T, B, C, S, elem_bytes, opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error (aclrtMemsetAsync on CANN)
  if (B == 0) return CRNN_STATUS_SUCCESS;
  CtcLossTiling tiling = crnn::ascend_tiling::ctc_loss_tiling(
      T, B, C, S, elem_bytes, opt->blank, opt->zero_infinity, grad != nullptr, max_cores,
      crnn::ascend_emu::kUbBytes910B);
  if (crnn::ascend_tiling::ctc_loss_ub_bytes(tiling) > crnn::ascend_emu::kUbBytes910B)
    return CRNN_STATUS_NOT_SUPPORTED;
  CtcGreedyTiling reduce{};  // the error reduction reads only B
  reduce.B = uint32_t(B);
  auto gm = [](const void *p) { return static_cast<uint8_t *>(const_cast<void *>(p)); };
  uint8_t *ws = gm(workspace);
  if (!run(name, tiling.coreNum, [&] {
        kernel(gm(logits), gm(labels), gm(input_lengths), gm(label_lengths), gm(loss), gm(grad), ws,
               gm(&tiling));
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
  if (!run("crnn_ctc_greedy_error_reduce", 1,
           [&] { crnn_ctc_greedy_error_reduce(ws, gm(&reduce)); }))
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

}  // namespace

crnn_status_t crnn::ascend_emu_kernels::ctc_loss_f32(
    uint32_t max_cores, float *loss, float *grad, const float *logits, const int32_t *labels,
    const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
    int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  return ctc_loss(crnn_ctc_loss, "crnn_ctc_loss", 4, max_cores, loss, grad, logits, labels,
                  input_lengths, label_lengths, T, B, C, S, workspace, workspace_bytes, opt);
}

crnn_status_t crnn::ascend_emu_kernels::ctc_loss_f16(
    uint32_t max_cores, float *loss, uint16_t *grad, const uint16_t *logits, const int32_t *labels,
    const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
    int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  return ctc_loss(crnn_ctc_loss_half, "crnn_ctc_loss_half", 2, max_cores, loss, grad, logits,
                  labels, input_lengths, label_lengths, T, B, C, S, workspace, workspace_bytes,
                  opt);
}

crnn_status_t crnn::ascend_emu_kernels::ctc_loss_bf16(
    uint32_t max_cores, float *loss, uint16_t *grad, const uint16_t *logits, const int32_t *labels,
    const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
    int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  return ctc_loss(crnn_ctc_loss_bfloat16, "crnn_ctc_loss_bfloat16", 2, max_cores, loss, grad,
                  logits, labels, input_lengths, label_lengths, T, B, C, S, workspace,
                  workspace_bytes, opt);
}

extern "C" crnn_status_t crnn_ascend_emu_ctc_loss_f32(
    float *loss, float *grad, const float *logits, const int32_t *labels,
    const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
    int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  return crnn::ascend_emu_kernels::ctc_loss_f32(crnn::ascend_emu_kernels::kAivCores, loss, grad,
                                                logits, labels, input_lengths, label_lengths, T, B,
                                                C, S, workspace, workspace_bytes, opt);
}

extern "C" crnn_status_t crnn_ascend_emu_ctc_loss_f16(
    float *loss, uint16_t *grad, const uint16_t *logits, const int32_t *labels,
    const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
    int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  return crnn::ascend_emu_kernels::ctc_loss_f16(crnn::ascend_emu_kernels::kAivCores, loss, grad,
                                                logits, labels, input_lengths, label_lengths, T, B,
                                                C, S, workspace, workspace_bytes, opt);
}

extern "C" crnn_status_t crnn_ascend_emu_ctc_loss_bf16(
    float *loss, uint16_t *grad, const uint16_t *logits, const int32_t *labels,
    const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
    int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  return crnn::ascend_emu_kernels::ctc_loss_bf16(crnn::ascend_emu_kernels::kAivCores, loss, grad,
                                                 logits, labels, input_lengths, label_lengths, T, B,
                                                 C, S, workspace, workspace_bytes, opt);
}
