// CANN op_host of CrnnCtcLoss (kernel crnn_ctc_loss, ../op_kernel/ctc_loss.cpp, compiled once per
// logits dtype): tiling function, InferShape / InferDataType and the OpDef for Atlas A2
// (ascend910b) and A3 (ascend910_93). NOT COMPILED WITH CANN HERE: on this project's machines it
// compiles against our host model of the op_host API (kernels/ascend/emu/op_host_api) and
// tests/ascend/test_ascend_op_host.cpp runs its functions (kernels/ascend/CANN.md).
//
// The inputs and outputs are the MindSpore aot entry's (csrc/aot_ctc.cpp, crnn_aot_ctc_loss):
//   inputs   logits (T, B, C) float32 / float16 / bfloat16; labels (B, S) int32; input_lengths
//            (B,) int32 (read when config[2]); label_lengths (B,) int32 (read when config[3];
//            else each label ends at its first blank / -1); config (4,) int32 = blank
//            (negative: C + blank), zero_infinity, has_input_lengths, has_label_lengths --
//            value-depend: the tiling reads it on the host
//   outputs  loss (B,) float32; grad (T, B, C) in the logits' dtype; error (1,) uint64, the
//            device error key (common/device_error.h; all ones = none)
#include "../../common/device_error.h"
#include "ctc_loss_tiling_host.h"
#include "op_host_common.h"

namespace {

struct LossConfig {
  int64_t T, B, C, S;
  int32_t blank, zeroInfinity;
  bool hasInputLengths, hasLabelLengths;
};

bool ReadLossConfig(const gert::Shape &logits, const gert::Shape &labels,
                    const gert::Tensor *config, LossConfig &g) {
  if (logits.GetDimNum() != 3 || labels.GetDimNum() != 2 || config == nullptr ||
      config->GetShapeSize() != 4)
    return false;
  const int32_t *cfg = config->GetData<int32_t>();
  g.T = logits.GetDim(0), g.B = logits.GetDim(1), g.C = logits.GetDim(2), g.S = labels.GetDim(1);
  g.blank = cfg[0] < 0 ? int32_t(g.C + cfg[0]) : cfg[0];
  g.zeroInfinity = cfg[1] != 0;
  g.hasInputLengths = cfg[2] != 0, g.hasLabelLengths = cfg[3] != 0;
  return g.T >= 1 && g.B >= 1 && g.C >= 2 && g.S >= 0 && labels.GetDim(0) == g.B && g.blank >= 0 &&
         g.blank < g.C && g.T <= crnn::kDeviceMaxFrames;
}

}  // namespace

namespace optiling {

static ge::graphStatus CrnnCtcLossTilingFunc(gert::TilingContext *context) {
  LossConfig g{};
  if (!ReadLossConfig(context->GetInputShape(0)->GetStorageShape(),
                      context->GetInputShape(1)->GetStorageShape(), context->GetInputTensor(4), g))
    return ge::GRAPH_FAILED;
  const ge::DataType dtype = context->GetInputDesc(0)->GetDataType();
  const uint32_t elemBytes = dtype == ge::DT_FLOAT ? 4 : 2;
  const platform_ascendc::PlatformAscendC platform(context->GetPlatformInfo());
  const uint64_t ub = crnn_op_host::UbBytes(platform);
  const CtcLossTiling t = crnn::ascend_tiling::ctc_loss_tiling(
      g.T, g.B, g.C, g.S, elemBytes, g.blank, g.zeroInfinity, true, g.hasInputLengths,
      g.hasLabelLengths, platform.GetCoreNumAiv(), ub);
  if (crnn::ascend_tiling::ctc_loss_ub_bytes(t) > ub) return ge::GRAPH_FAILED;
  return crnn_op_host::SetTiling(context, platform, t, t.coreNum,
                                 crnn::ascend_tiling::error_keys_workspace_bytes(g.B));
}

}  // namespace optiling

namespace ge {

static graphStatus CrnnCtcLossInferShape(gert::InferShapeContext *context) {
  const gert::Shape *logits = context->GetInputShape(0);
  if (logits->GetDimNum() != 3) return GRAPH_FAILED;
  gert::Shape *loss = context->GetOutputShape(0), *grad = context->GetOutputShape(1);
  gert::Shape *error = context->GetOutputShape(2);
  loss->SetDimNum(1);
  loss->SetDim(0, logits->GetDim(1));
  *grad = *logits;
  error->SetDimNum(1);
  error->SetDim(0, 1);
  return GRAPH_SUCCESS;
}

static graphStatus CrnnCtcLossInferDataType(gert::InferDataTypeContext *context) {
  context->SetOutputDataType(0, DT_FLOAT);
  context->SetOutputDataType(1, context->GetInputDataType(0));
  context->SetOutputDataType(2, DT_UINT64);
  return GRAPH_SUCCESS;
}

}  // namespace ge

namespace ops {

class CrnnCtcLoss : public OpDef {
 public:
  explicit CrnnCtcLoss(const char *name) : OpDef(name) {
    const std::vector<ge::DataType> logits = {ge::DT_FLOAT, ge::DT_FLOAT16, ge::DT_BF16};
    const std::vector<ge::DataType> i32(3, ge::DT_INT32), f32(3, ge::DT_FLOAT),
        u64(3, ge::DT_UINT64);
    const std::vector<ge::Format> nd(3, ge::FORMAT_ND);
    Input("logits").ParamType(REQUIRED).DataType(logits).Format(nd);
    Input("labels").ParamType(REQUIRED).DataType(i32).Format(nd);
    Input("input_lengths").ParamType(REQUIRED).DataType(i32).Format(nd);
    Input("label_lengths").ParamType(REQUIRED).DataType(i32).Format(nd);
    Input("config").ParamType(REQUIRED).DataType(i32).Format(nd).ValueDepend(REQUIRED);
    Output("loss").ParamType(REQUIRED).DataType(f32).Format(nd);
    Output("grad").ParamType(REQUIRED).DataType(logits).Format(nd);
    Output("error").ParamType(REQUIRED).DataType(u64).Format(nd);
    SetInferShape(ge::CrnnCtcLossInferShape);
    SetInferDataType(ge::CrnnCtcLossInferDataType);
    AICore().SetTiling(optiling::CrnnCtcLossTilingFunc);
    AICore().AddConfig("ascend910b");
    AICore().AddConfig("ascend910_93");
  }
};

OP_ADD(CrnnCtcLoss);

}  // namespace ops
