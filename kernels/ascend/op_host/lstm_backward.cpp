// CANN op_host of CrnnLstmBackward (kernel crnn_lstm_backward, ../op_kernel/lstm_backward.cpp):
// tiling function, InferShape / InferDataType and the OpDef for Atlas A2 (ascend910b) and A3
// (ascend910_93). NOT COMPILED WITH CANN HERE: it compiles against our host model of the
// op_host API (kernels/ascend/emu/op_host_api) and tests/ascend/test_ascend_op_host.cpp runs
// its functions.
//
// The inputs and outputs are the MindSpore aot entry's (csrc/aot_lstm.cpp, crnn_aot_lstm_
// backward), then `error`:
//   inputs   x, h0, c0, seq_length, config, weights as CrnnLstmForward (op_host/lstm_forward.cpp);
//            y (T, B, D*H), reserve (lstm_reserve_size,) (the training forward's), dy
//            (T, B, D*H), dh_n, dc_n (L*D, B, H) f32 (always present: dh0 / dc0 always written)
//   outputs  dx (T, B, I), dh0, dc0 (L*D, B, H), dweights (n,) (the weights' layout) f32;
//            error (1,) u64, the device error key (all ones = none)
// Block dim: ceil(coreNum / 2), as the forward's (MIX: CANN counts AIC blocks of 2 AIVs).
#include <vector>

#include "common/lstm_layout.h"
#include "lstm_op_shapes.h"
#include "op_host_common.h"

namespace {

// The backward's inputs 6..10 agree with the configuration of inputs 0..5.
template <typename GetShape>
bool BackwardInputsOk(const crnn_ascend_lstm::LstmOpShapes &s, GetShape shape) {
  using crnn_ascend_lstm::same_dims;
  const int64_t LD = s.L * s.D;
  return same_dims(shape(6), {s.T, s.B, s.D * s.H}) &&
         same_dims(shape(7), {crnn::lstm_reserve_size(s.T, s.B, s.H, s.L, s.D)}) &&
         same_dims(shape(8), {s.T, s.B, s.D * s.H}) && same_dims(shape(9), {LD, s.B, s.H}) &&
         same_dims(shape(10), {LD, s.B, s.H});
}

template <typename GetShape>
bool ReadBackward(GetShape shape, crnn_ascend_lstm::LstmOpShapes &s) {
  return crnn_ascend_lstm::ReadLstmShapes(shape(0), shape(1), shape(2), shape(3), shape(4),
                                          shape(5), s) &&
         BackwardInputsOk(s, shape);
}

}  // namespace

namespace optiling {

static ge::graphStatus CrnnLstmBackwardTilingFunc(gert::TilingContext *context) {
  namespace lt = crnn::ascend_lstm;
  crnn_ascend_lstm::LstmOpShapes s{};
  const auto shape = [context](size_t i) { return crnn_op_host::InputStorageShape(context, i); };
  if (!ReadBackward(shape, s)) return ge::GRAPH_FAILED;
  const platform_ascendc::PlatformAscendC platform(context->GetPlatformInfo());
  const uint64_t ub = crnn_op_host::UbBytes(platform);
  uint64_t ws = 0;
  LstmBackwardTiling t =
      lt::lstm_backward_tiling(s.T, s.B, s.I, s.H, s.L, s.D, s.bias, platform.GetCoreNumAiv(), &ws);
  if (!lt::lstm_ub_fits(t, lt::lstm_backward_ub_bytes, ub)) return ge::GRAPH_FAILED;
  t.hasH0 = t.hasC0 = s.hasHx, t.hasSeq = s.hasSeq;
  t.hasDhn = t.hasDcn = t.hasDh0 = t.hasDc0 = 1;
  return crnn_op_host::SetTiling(context, platform, t, (t.coreNum + 1) / 2, ws);
}

}  // namespace optiling

namespace ge {

static graphStatus CrnnLstmBackwardInferShape(gert::InferShapeContext *context) {
  crnn_ascend_lstm::LstmOpShapes s{};
  if (!ReadBackward([context](size_t i) { return context->GetInputShape(i); }, s))
    return GRAPH_FAILED;
  const int64_t LD = s.L * s.D;
  const std::vector<int64_t> dims[5] = {
      {s.T, s.B, s.I}, {LD, s.B, s.H}, {LD, s.B, s.H}, {s.numWeights}, {1}};
  return crnn_op_host::SetOutputShapes(context, dims, 5);
}

static graphStatus CrnnLstmBackwardInferDataType(gert::InferDataTypeContext *context) {
  for (size_t i = 0; i < 4; ++i) context->SetOutputDataType(i, DT_FLOAT);
  context->SetOutputDataType(4, DT_UINT64);
  return GRAPH_SUCCESS;
}

}  // namespace ge

namespace ops {

class CrnnLstmBackward : public OpDef {
 public:
  explicit CrnnLstmBackward(const char *name) : OpDef(name) {
    crnn_ascend_lstm::AddLstmInputs(*this);
    for (const char *n : {"y", "reserve", "dy", "dh_n", "dc_n"})
      crnn_ascend_lstm::AddF32(*this, n, true);
    for (const char *n : {"dx", "dh0", "dc0", "dweights"})
      crnn_ascend_lstm::AddF32(*this, n, false);
    Output("error").ParamType(REQUIRED).DataType({ge::DT_UINT64}).Format({ge::FORMAT_ND});
    SetInferShape(ge::CrnnLstmBackwardInferShape);
    SetInferDataType(ge::CrnnLstmBackwardInferDataType);
    AICore().SetTiling(optiling::CrnnLstmBackwardTilingFunc);
    AICore().AddConfig("ascend910b");
    AICore().AddConfig("ascend910_93");
  }
};

OP_ADD(CrnnLstmBackward);

}  // namespace ops
