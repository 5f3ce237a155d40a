// CANN op_host of CrnnCtcGreedy (kernel crnn_ctc_greedy, ../op_kernel/ctc_greedy.cpp): tiling
// function, InferShape / InferDataType and the OpDef for Atlas A2 (ascend910b) and A3
// (ascend910_93). Built into the crnn_fast vendor package by CRNN_FAST_ASCEND=AUTO where
// ASCEND_HOME_PATH is set (kernels/ascend/CANN.md). NOT COMPILED WITH CANN HERE: on this
// project's machines it compiles against our host model of the op_host API
// (kernels/ascend/emu/op_host_api) and tests/ascend/test_ascend_op_host.cpp runs its functions.
//
// The inputs and outputs are the MindSpore aot entry's (csrc/aot_ctc.cpp, crnn_aot_ctc_greedy),
// so the Python op and its checks are the same on every target:
//   inputs   scores (T, B, C) float32 [(B, T, C) when config[2]]; input_lengths (B,) int32 (read
//            when config[3]); config (4,) int32 = blank (negative: C + blank), input_kind,
//            batch_first, has_input_lengths -- value-depend: the tiling reads it on the host
//   outputs  ids (B, T) int32; lengths (B,) int32; probs (B, T) float32; frames (B, T) int32;
//            error (1,) uint64, the device error key (common/device_error.h; all ones = none)
#include "ctc_greedy_tiling_host.h"
#include "op_host_common.h"

namespace {

struct GreedyConfig {
  int64_t T, B, C;
  int32_t blank, inputKind;
  bool batchFirst, hasLengths;
};

// Shapes and the value-depend config; false when they are not a valid call.
bool ReadGreedyConfig(const gert::Shape &scores, const gert::Tensor *config, GreedyConfig &g) {
  if (scores.GetDimNum() != 3 || config == nullptr || config->GetShapeSize() != 4) return false;
  const int32_t *cfg = config->GetData<int32_t>();
  g.batchFirst = cfg[2] != 0, g.hasLengths = cfg[3] != 0, g.inputKind = cfg[1];
  g.T = scores.GetDim(g.batchFirst ? 1 : 0), g.B = scores.GetDim(g.batchFirst ? 0 : 1);
  g.C = scores.GetDim(2);
  g.blank = cfg[0] < 0 ? int32_t(g.C + cfg[0]) : cfg[0];
  return g.T >= 1 && g.B >= 1 && g.C >= 2 && g.blank >= 0 && g.blank < g.C && g.inputKind >= 0 &&
         g.inputKind <= 2;
}

}  // namespace

namespace optiling {

static ge::graphStatus CrnnCtcGreedyTilingFunc(gert::TilingContext *context) {
  GreedyConfig g{};
  if (!ReadGreedyConfig(context->GetInputShape(0)->GetStorageShape(), context->GetInputTensor(2),
                        g))
    return ge::GRAPH_FAILED;
  const platform_ascendc::PlatformAscendC platform(context->GetPlatformInfo());
  const uint64_t ub = crnn_op_host::UbBytes(platform);
  const CtcGreedyTiling t = crnn::ascend_tiling::ctc_greedy_tiling(
      g.T, g.B, g.C, g.blank, g.inputKind, g.batchFirst, g.hasLengths, platform.GetCoreNumAiv());
  if (crnn::ascend_tiling::ctc_greedy_ub_bytes(t) > ub) return ge::GRAPH_FAILED;
  return crnn_op_host::SetTiling(context, platform, t, t.coreNum,
                                 crnn::ascend_tiling::error_keys_workspace_bytes(g.B));
}

}  // namespace optiling

namespace ge {

static graphStatus CrnnCtcGreedyInferShape(gert::InferShapeContext *context) {
  GreedyConfig g{};
  if (!ReadGreedyConfig(*context->GetInputShape(0), context->GetInputTensor(2), g))
    return GRAPH_FAILED;
  for (size_t out : {0, 2, 3}) {  // ids, probs, frames: (B, T)
    gert::Shape *s = context->GetOutputShape(out);
    s->SetDimNum(2);
    s->SetDim(0, g.B);
    s->SetDim(1, g.T);
  }
  gert::Shape *lengths = context->GetOutputShape(1), *error = context->GetOutputShape(4);
  lengths->SetDimNum(1);
  lengths->SetDim(0, g.B);
  error->SetDimNum(1);
  error->SetDim(0, 1);
  return GRAPH_SUCCESS;
}

static graphStatus CrnnCtcGreedyInferDataType(gert::InferDataTypeContext *context) {
  const DataType types[] = {DT_INT32, DT_INT32, DT_FLOAT, DT_INT32, DT_UINT64};
  for (size_t i = 0; i < 5; ++i) context->SetOutputDataType(i, types[i]);
  return GRAPH_SUCCESS;
}

}  // namespace ge

namespace ops {

class CrnnCtcGreedy : public OpDef {
 public:
  explicit CrnnCtcGreedy(const char *name) : OpDef(name) {
    Input("scores").ParamType(REQUIRED).DataType({ge::DT_FLOAT}).Format({ge::FORMAT_ND});
    Input("input_lengths").ParamType(REQUIRED).DataType({ge::DT_INT32}).Format({ge::FORMAT_ND});
    Input("config")
        .ParamType(REQUIRED)
        .DataType({ge::DT_INT32})
        .Format({ge::FORMAT_ND})
        .ValueDepend(REQUIRED);
    Output("ids").ParamType(REQUIRED).DataType({ge::DT_INT32}).Format({ge::FORMAT_ND});
    Output("lengths").ParamType(REQUIRED).DataType({ge::DT_INT32}).Format({ge::FORMAT_ND});
    Output("probs").ParamType(REQUIRED).DataType({ge::DT_FLOAT}).Format({ge::FORMAT_ND});
    Output("frames").ParamType(REQUIRED).DataType({ge::DT_INT32}).Format({ge::FORMAT_ND});
    Output("error").ParamType(REQUIRED).DataType({ge::DT_UINT64}).Format({ge::FORMAT_ND});
    SetInferShape(ge::CrnnCtcGreedyInferShape);
    SetInferDataType(ge::CrnnCtcGreedyInferDataType);
    AICore().SetTiling(optiling::CrnnCtcGreedyTilingFunc);
    AICore().AddConfig("ascend910b");
    AICore().AddConfig("ascend910_93");
  }
};

OP_ADD(CrnnCtcGreedy);

}  // namespace ops
