// Host driver of the CTC greedy decoder's Ascend C kernels (op_kernel/ctc_greedy.cpp) on our
// host model of the API: argument checks (the CUDA backend's statuses), the tiling, the two
// launches (decode on min(B, 40) cores, then the error reduction on one core), and the record
// read. What a CANN op_host tiling function would compute is in ctc_greedy_tiling() below.
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <string>

#include "../ascend_kernels.h"
#include "../op_kernel/ctc_greedy_tiling.h"
#include "common/device_error.h"
#include "emu_launch.h"

extern "C" void crnn_ctc_greedy(uint8_t *scores, uint8_t *input_lengths, uint8_t *ids,
                                uint8_t *lengths, uint8_t *probs, uint8_t *frames,
                                uint8_t *workspace, uint8_t *tiling);
extern "C" void crnn_ctc_greedy_error_reduce(uint8_t *workspace, uint8_t *tiling);

namespace {

constexpr uint32_t kTileBytes = 32 * 1024;  // input tile target: k frames of C floats
constexpr uint32_t kMaxOutChunk = 1024;     // frames per output chunk

uint64_t round_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

// The smallest ReduceMax (count form) scratch in elements on A2, per the API documentation:
// one (value, index) pair per 256-byte repeat of the first round, 32-byte aligned; with the
// index every further round's pairs are kept too.
uint32_t reduce_max_scratch(uint32_t count, bool index) {
  const uint32_t per_block = 8, per_repeat = 64;
  const uint32_t first = std::max<uint32_t>(count / per_repeat, 1) * 2;
  if (!index) return round_up(first, per_block);
  uint32_t total = round_up(first, per_block), pairs = first;
  while (pairs > 2) {
    pairs = (pairs + per_repeat - 1) / per_repeat * 2;
    total += round_up(pairs, per_block);
  }
  return total;
}

// UB bytes the decode kernel's InitBuffer calls take (each rounded up to 32 bytes).
uint64_t ub_bytes(const CtcGreedyTiling &t) {
  const uint64_t k8 = round_up(t.framesPerTile, 8);
  return 2 * round_up(t.tileElems * 4ull, 32) + 2 * round_up(3ull * t.outChunk * 4, 32) +
         round_up(kCtcGreedySampleChunk * 4, 32) + round_up(kCtcGreedySampleChunk * 12, 32) +
         round_up(t.tileElems * 4ull, 32) + round_up(t.tileElems / 8, 32) +
         round_up((t.workElems + 16) * 4ull, 32) + round_up(5 * k8 * 4, 32);
}

CtcGreedyTiling ctc_greedy_tiling(int64_t T, int64_t B, int64_t C,
                                  const crnn_ctc_decode_options &opt, uint32_t max_cores) {
  CtcGreedyTiling t{};
  t.T = uint32_t(T), t.B = uint32_t(B), t.C = uint32_t(C);
  t.rowElems = uint32_t(round_up(C, 8));
  t.frameStride = opt.batch_first ? uint64_t(C) : uint64_t(B) * C;
  t.sampleStride = opt.batch_first ? uint64_t(T) * C : uint64_t(C);
  uint64_t k = std::max<uint64_t>(1, kTileBytes / (4ull * t.rowElems));
  k = std::min<uint64_t>({k, uint64_t(std::max<int64_t>(T, 1)), 4095});
  if ((t.frameStride - C) * 4 > UINT32_MAX) k = 1;  // the DMA's gap between frames is 32-bit
  t.framesPerTile = uint32_t(k);
  t.tileElems = uint32_t(round_up(k * t.rowElems, 64));
  t.workElems =
      std::max(reduce_max_scratch(t.rowElems, true), reduce_max_scratch(t.tileElems, false));
  t.outChunk = uint32_t(std::min<uint64_t>(round_up(std::max<int64_t>(T, 1), 8), kMaxOutChunk));
  t.coreNum = uint32_t(std::min<int64_t>(B, max_cores));
  t.samplesPerCore = t.B / t.coreNum;
  t.samplesTail = t.B % t.coreNum;
  t.blank = opt.blank;
  t.inputKind = opt.input_kind;
  t.padValue = opt.input_kind == CRNN_CTC_PROBS ? 0.0f : -__builtin_inff();
  return t;
}

bool run(const char *what, uint32_t cores, const std::function<void()> &kernel) {
  const std::string err = crnn::ascend_emu::launch(cores, crnn::ascend_emu::kUbBytes910B, kernel);
  if (err.empty()) return true;
  fprintf(stderr, "crnn_fast ascend-emu %s: %s\n", what, err.c_str());
  return false;
}

}  // namespace

extern "C" size_t crnn_ascend_emu_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                                            const crnn_ctc_decode_options *opt) {
  (void)opt;
  if (T < 0 || T > crnn::kDeviceMaxFrames || B < 0 || B > INT32_MAX || C < 0) return 0;
  return crnn::kDeviceErrorBytes + round_up(uint64_t(B) * sizeof(uint64_t), 256);
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
  CtcGreedyTiling tiling = ctc_greedy_tiling(T, B, C, *opt, max_cores);
  if (ub_bytes(tiling) > crnn::ascend_emu::kUbBytes910B) return CRNN_STATUS_NOT_SUPPORTED;
  tiling.hasLengths = input_lengths != nullptr;
  auto gm = [](const void *p) { return static_cast<uint8_t *>(const_cast<void *>(p)); };
  uint8_t *tiling_gm = gm(&tiling), *ws = gm(workspace);
  if (!run("crnn_ctc_greedy", tiling.coreNum, [&] {
        crnn_ctc_greedy(gm(scores), gm(input_lengths), gm(ids), gm(lengths), gm(probs), gm(frames),
                        ws, tiling_gm);
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
  if (!run("crnn_ctc_greedy_error_reduce", 1, [&] { crnn_ctc_greedy_error_reduce(ws, tiling_gm); }))
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
