// CANN op_host of CrnnLstmForward (kernel crnn_lstm_forward, ../op_kernel/lstm_forward.cpp; the
// training entry, with the reserve) and CrnnLstmForwardInfer (kernel crnn_lstm_forward_infer:
// no reserve output, so inference allocates none -- 27 MB at the CRNN shape -- and the kernel
// keeps its inner layers' outputs in the workspace): tiling functions, InferShape /
// InferDataType and the OpDefs for Atlas A2 (ascend910b) and A3 (ascend910_93). NOT COMPILED
// WITH CANN HERE: it compiles against our host model of the op_host API
// (kernels/ascend/emu/op_host_api) and tests/ascend/test_ascend_op_host.cpp runs its functions.
//
// The inputs and outputs are the MindSpore aot entries' (csrc/aot_lstm.cpp, crnn_aot_lstm_
// forward_train / _infer), then `error`:
//   inputs   x (T, B, I) f32; h0, c0 (L*D, B, H) f32 or a rank-1 stand-in (zeros); seq_length
//            (B,) i32 or a rank-2 stand-in (all T); config, int8, shape (L, D, H) (values
//            unread: shape-encoded, not value-depend); weights (n,) f32 flat (the aot layout)
//   outputs  y (T, B, D*H), h_n, c_n (L*D, B, H) f32; [train: reserve (lstm_reserve_size,) f32];
//            error (1,) u64, the device error key (common/device_error.h; all ones = none)
// Block dim: the kernel is MIX (1 AIC : 2 AIV) and CANN counts a MIX kernel's blocks in AIC
// cores, each running 2 AIVs, so SetBlockDim(ceil(coreNum / 2)) for the tiling's coreNum vector
// cores (<= GetCoreNumAiv(): 20 blocks on a 910B's 40 AIVs); the kernel takes its vector core
// count as GetBlockNum() * GetTaskRatio() and a surplus AIV (odd coreNum) finds no work.
#include <vector>

#include "common/lstm_layout.h"
#include "lstm_op_shapes.h"
#include "op_host_common.h"

namespace optiling {

template <bool kTrain>
static ge::graphStatus CrnnLstmForwardTilingFunc(gert::TilingContext *context) {
  namespace lt = crnn::ascend_lstm;
  const auto in = [context](size_t i) { return crnn_op_host::InputStorageShape(context, i); };
  crnn_ascend_lstm::LstmOpShapes s{};
  if (!crnn_ascend_lstm::ReadLstmShapes(in(0), in(1), in(2), in(3), in(4), in(5), s))
    return ge::GRAPH_FAILED;
  const platform_ascendc::PlatformAscendC platform(context->GetPlatformInfo());
  const uint64_t ub = crnn_op_host::UbBytes(platform);
  uint64_t ws = 0;
  LstmForwardTiling t =
      lt::lstm_forward_tiling(s.T, s.B, s.I, s.H, s.L, s.D, s.bias, platform.GetCoreNumAiv(), &ws);
  if (!lt::lstm_ub_fits(t, lt::lstm_forward_ub_bytes, ub)) return ge::GRAPH_FAILED;
  t.hasH0 = t.hasC0 = s.hasHx, t.hasSeq = s.hasSeq, t.train = kTrain;
  return crnn_op_host::SetTiling(context, platform, t, (t.coreNum + 1) / 2, ws);
}

}  // namespace optiling

namespace ge {

template <bool kTrain>
static graphStatus CrnnLstmForwardInferShape(gert::InferShapeContext *context) {
  crnn_ascend_lstm::LstmOpShapes s{};
  if (!crnn_ascend_lstm::ReadLstmShapes(context->GetInputShape(0), context->GetInputShape(1),
                                        context->GetInputShape(2), context->GetInputShape(3),
                                        context->GetInputShape(4), context->GetInputShape(5), s))
    return GRAPH_FAILED;
  std::vector<std::vector<int64_t>> dims = {
      {s.T, s.B, s.D * s.H}, {s.L * s.D, s.B, s.H}, {s.L * s.D, s.B, s.H}};
  if (kTrain) dims.push_back({crnn::lstm_reserve_size(s.T, s.B, s.H, s.L, s.D)});
  dims.push_back({1});  // error
  return crnn_op_host::SetOutputShapes(context, dims.data(), dims.size());
}

template <bool kTrain>
static graphStatus CrnnLstmForwardInferDataType(gert::InferDataTypeContext *context) {
  const size_t n = kTrain ? 5 : 4;
  for (size_t i = 0; i + 1 < n; ++i) context->SetOutputDataType(i, DT_FLOAT);
  context->SetOutputDataType(n - 1, DT_UINT64);
  return GRAPH_SUCCESS;
}

}  // namespace ge

namespace ops {

template <bool kTrain>
static void DefineLstmForward(OpDef &op) {
  crnn_ascend_lstm::AddLstmInputs(op);
  for (const char *n : {"y", "h_n", "c_n"}) crnn_ascend_lstm::AddF32(op, n, false);
  if (kTrain) crnn_ascend_lstm::AddF32(op, "reserve", false);
  op.Output("error").ParamType(REQUIRED).DataType({ge::DT_UINT64}).Format({ge::FORMAT_ND});
  op.SetInferShape(ge::CrnnLstmForwardInferShape<kTrain>);
  op.SetInferDataType(ge::CrnnLstmForwardInferDataType<kTrain>);
  op.AICore().SetTiling(optiling::CrnnLstmForwardTilingFunc<kTrain>);
  op.AICore().AddConfig("ascend910b");
  op.AICore().AddConfig("ascend910_93");
}

class CrnnLstmForward : public OpDef {
 public:
  explicit CrnnLstmForward(const char *name) : OpDef(name) { DefineLstmForward<true>(*this); }
};

class CrnnLstmForwardInfer : public OpDef {
 public:
  explicit CrnnLstmForwardInfer(const char *name) : OpDef(name) { DefineLstmForward<false>(*this); }
};

OP_ADD(CrnnLstmForward);
OP_ADD(CrnnLstmForwardInfer);

}  // namespace ops
