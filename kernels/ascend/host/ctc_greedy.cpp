// Host driver of the CTC greedy decoder's Ascend C kernel (op_kernel/ctc_greedy.cpp) on our
// host model of the API: argument checks (the CUDA backend's statuses), the tiling, one launch
// on min(B, 40) cores (the record at the start of the workspace), and the record read. The tiling
// is ../op_host/ctc_greedy_tiling_host.h, shared with the CANN tiling function.
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <string>

#include "../ascend_kernels.h"
#include "../op_host/ctc_greedy_tiling_host.h"
#include "common/device_error.h"
#include "kernel_decls.h"
#include "launch_kernel.h"

extern "C" size_t crnn_ascend_emu_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                                            const crnn_ctc_decode_options *opt) {
  (void)opt;
  if (T < 0 || T > crnn::kDeviceMaxFrames || B < 0 || B > INT32_MAX || C < 0) return 0;
  return crnn::ascend_tiling::error_keys_workspace_bytes(B);
}

crnn_status_t crnn::ascend_emu_kernels::ctc_greedy_f32(
    uint32_t max_cores, int32_t *ids, int32_t *lengths, float *probs, int32_t *frames,
    const float *scores, const int32_t *input_lengths, int64_t T, int64_t B, int64_t C,
    void *workspace, size_t workspace_bytes, const crnn_ctc_decode_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || max_cores < 1 || T < 0 || T > crnn::kDeviceMaxFrames || B < 0 || B > INT32_MAX ||
      C < 2 || C > INT32_MAX || opt->blank < 0 || opt->blank >= C ||
      opt->input_kind < CRNN_CTC_LOGITS || opt->input_kind > CRNN_CTC_LOG_PROBS)
    return CRNN_STATUS_INVALID_VALUE;
  if (B > 0 && (!lengths || (T > 0 && (!ids || !probs || !frames || !scores))))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_ascend_emu_ctc_greedy_workspace_size(T, B, C, opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error (aclrtMemsetAsync on CANN)
  if (B == 0) return CRNN_STATUS_SUCCESS;
  CtcGreedyTiling tiling = crnn::ascend_tiling::ctc_greedy_tiling(
      T, B, C, opt->blank, opt->input_kind, opt->batch_first != 0, input_lengths != nullptr,
      max_cores);
  if (crnn::ascend_tiling::ctc_greedy_ub_bytes(tiling) > crnn::ascend_emu::kUbBytes910B)
    return CRNN_STATUS_NOT_SUPPORTED;
  auto gm = [](const void *p) { return static_cast<uint8_t *>(const_cast<void *>(p)); };
  uint8_t *tiling_gm = gm(&tiling), *ws = gm(workspace);
  if (!crnn::ascend_emu_kernels::launch_kernel("crnn_ctc_greedy", tiling.coreNum, [&] {
        crnn_ctc_greedy(gm(scores), gm(input_lengths), nullptr, gm(ids), gm(lengths), gm(probs),
                        gm(frames), ws, ws, tiling_gm);
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

extern "C" crnn_status_t crnn_ascend_emu_ctc_greedy_f32(
    int32_t *ids, int32_t *lengths, float *probs, int32_t *frames, const float *scores,
    const int32_t *input_lengths, int64_t T, int64_t B, int64_t C, void *workspace,
    size_t workspace_bytes, const crnn_ctc_decode_options *opt) {
  return crnn::ascend_emu_kernels::ctc_greedy_f32(crnn::ascend_emu_kernels::kAivCores, ids, lengths,
                                                  probs, frames, scores, input_lengths, T, B, C,
                                                  workspace, workspace_bytes, opt);
}

extern "C" crnn_status_t crnn_ascend_emu_device_error_read(const void *workspace, void *stream,
                                                           int32_t *error_index,
                                                           int32_t *error_frame) {
  (void)stream;  // the model's launches have completed when they return
  if (error_index) *error_index = -1;
  if (error_frame) *error_frame = -1;
  if (!workspace) return CRNN_STATUS_INVALID_VALUE;
  uint64_t key;
  memcpy(&key, workspace, sizeof(key));
  const crnn::DeviceError e = crnn::decode_device_error(key);
  if (error_index) *error_index = e.index;
  if (error_frame) *error_frame = e.frame;
  return static_cast<crnn_status_t>(e.status);
}
