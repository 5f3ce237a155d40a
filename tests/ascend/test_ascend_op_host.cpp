// The CANN op_host sources (kernels/ascend/op_host/*.cpp) compiled against our host model of the
// op_host API (kernels/ascend/emu/op_host_api; not CANN) and their functions run: every op is
// registered for exactly ascend910b and ascend910_93 with ND formats and a tiling function; the
// tiling functions read shapes and the value-depend config as the aot entries do and produce
// the tiling data, block dim and workspace of the host drivers on the API model (the tiling
// code both share); invalid calls and shapes that do not fit the UB fail; InferShape /
// InferDataType give the outputs the Python ops expect; each kernel entry function takes the
// OpDef's inputs and outputs, then workspace and tiling.
#include <string.h>

#include <string>
#include <vector>

#include "../../kernels/ascend/host/kernel_decls.h"
#include "../../kernels/ascend/op_host/ctc_greedy_tiling_host.h"
#include "../../kernels/ascend/op_host/ctc_loss_tiling_host.h"
#include "../cpp/check.h"
#include "register/op_def_registry.h"

namespace {

template <typename... A>
constexpr size_t arity(void (*)(A...)) {
  return sizeof...(A);
}

std::unique_ptr<ops::OpDef> make(const char *name) {
  auto it = ops::op_registry().find(name);
  return it == ops::op_registry().end() ? nullptr : it->second();
}

void check_every_op_registration() {
  CHECK(!ops::op_registry().empty(), "no op registered");
  for (auto &[name, factory] : ops::op_registry()) {
    const auto def = factory();
    CHECK(name.rfind("Crnn", 0) == 0, "%s: OpTypes start with Crnn (unique in the vendor)",
          name.c_str());
    CHECK((def->aicore.configs == std::vector<std::string>{"ascend910b", "ascend910_93"}),
          "%s: configs must be ascend910b and ascend910_93 only", name.c_str());
    CHECK(def->aicore.tiling != nullptr && def->inferShape && def->inferDataType,
          "%s: tiling / InferShape / InferDataType", name.c_str());
    const size_t combos = def->inputs.empty() ? 0 : def->inputs[0].dtypes.size();
    for (const auto *params : {&def->inputs, &def->outputs})
      for (const auto &p : *params)
        CHECK(combos > 0 && p.dtypes.size() == combos &&
                  p.formats == std::vector<ge::Format>(combos, ge::FORMAT_ND),
              "%s.%s: ND, one dtype per combination", name.c_str(), p.name.c_str());
  }
}

gert::ContextInputs greedy_inputs(gert::Shape scores, int64_t B, std::vector<int32_t> cfg) {
  gert::ContextInputs in;
  in.inputs = {{scores}, {gert::Shape{B}}, {gert::Shape{4}}};
  in.values.resize(3);
  in.values[2].values = std::move(cfg);
  return in;
}

void check_greedy() {
  const auto def = make("CrnnCtcGreedy");
  CHECK(def != nullptr, "CrnnCtcGreedy registered");
  if (!def) return;
  CHECK(def->inputs.size() == 3 && def->outputs.size() == 5, "3 inputs, 5 outputs");
  CHECK(arity(&crnn_ctc_greedy) == def->inputs.size() + def->outputs.size() + 2,
        "kernel parameters: inputs, outputs, workspace, tiling");
  CHECK(def->inputs.size() == 3 && def->inputs[2].valueDepend, "config is value-depend");
  struct Case {
    gert::Shape scores;
    int64_t T, B, C;
    std::vector<int32_t> cfg;
    int32_t blank;
  };
  const Case cases[] = {
      {{25, 64, 37}, 25, 64, 37, {-1, 0, 0, 1}, 36},    // MindOCR: blank C-1, logits
      {{64, 25, 6625}, 25, 64, 6625, {0, 1, 1, 0}, 0},  // batch_first probs, blank 0
      {{1, 1, 2}, 1, 1, 2, {-2, 2, 0, 1}, 0},           // log-probs, blank counted from C
  };
  for (const Case &c : cases) {
    gert::TilingContext ctx;
    ctx.in = greedy_inputs(c.scores, c.B, c.cfg);
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_SUCCESS, "tiling T=%lld", (long long)c.T);
    const CtcGreedyTiling want = crnn::ascend_tiling::ctc_greedy_tiling(
        c.T, c.B, c.C, c.blank, c.cfg[1], c.cfg[2] != 0, c.cfg[3] != 0, 40);
    CHECK(ctx.tiling.size() == sizeof(want) && memcmp(ctx.tiling.data(), &want, sizeof(want)) == 0,
          "tiling data = the host driver's (C=%lld)", (long long)c.C);
    CHECK(ctx.blockDim == want.coreNum, "block dim %u", ctx.blockDim);
    CHECK(ctx.workspaces.size() == 1 &&
              ctx.workspaces[0] == ctx.platform.libApiWorkspace +
                                       crnn::ascend_tiling::error_keys_workspace_bytes(c.B),
          "workspace");
    gert::InferShapeContext sh;
    sh.in = greedy_inputs(c.scores, c.B, c.cfg);
    sh.outputs.resize(5);
    CHECK(def->inferShape(&sh) == ge::GRAPH_SUCCESS, "InferShape");
    const gert::Shape bt{c.B, c.T}, b{c.B}, one{1};
    CHECK(sh.outputs[0] == bt && sh.outputs[1] == b && sh.outputs[2] == bt && sh.outputs[3] == bt &&
              sh.outputs[4] == one,
          "output shapes");
  }
  gert::InferDataTypeContext dt;
  dt.outputs.resize(5);
  CHECK(def->inferDataType(&dt) == ge::GRAPH_SUCCESS, "InferDataType");
  CHECK((dt.outputs == std::vector<ge::DataType>{ge::DT_INT32, ge::DT_INT32, ge::DT_FLOAT,
                                                 ge::DT_INT32, ge::DT_UINT64}),
        "output dtypes");
  const Case bad[] = {
      {{25, 4, 37}, 25, 4, 37, {37, 0, 0, 0}, 0},       // blank = C
      {{25, 4, 37}, 25, 4, 37, {0, 3, 0, 0}, 0},        // input kind
      {{25, 4, 1}, 25, 4, 1, {0, 0, 0, 0}, 0},          // C < 2
      {{25, 37}, 25, 1, 37, {0, 0, 0, 0}, 0},           // rank 2
      {{25, 4, 40000}, 25, 4, 40000, {0, 0, 0, 0}, 0},  // a row beyond the UB budget
  };
  for (const Case &c : bad) {
    gert::TilingContext ctx;
    ctx.in = greedy_inputs(c.scores, c.B, c.cfg);
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_FAILED, "bad call C=%lld cfg0=%d", (long long)c.C,
          c.cfg[0]);
  }
  gert::TilingContext no_cfg;
  no_cfg.in = greedy_inputs({25, 4, 37}, 4, {});
  CHECK(def->aicore.tiling(&no_cfg) == ge::GRAPH_FAILED, "config not on the host");
}

gert::ContextInputs loss_inputs(gert::Shape logits, int64_t S, ge::DataType dtype,
                                std::vector<int32_t> cfg) {
  const int64_t B = logits.GetDim(1);
  gert::ContextInputs in;
  in.inputs = {{logits}, {gert::Shape{B, S}}, {gert::Shape{B}}, {gert::Shape{B}}, {gert::Shape{4}}};
  in.descs.resize(5);
  in.descs[0].dtype = dtype;
  in.values.resize(5);
  in.values[4].values = std::move(cfg);
  return in;
}

void check_loss() {
  const auto def = make("CrnnCtcLoss");
  CHECK(def != nullptr, "CrnnCtcLoss registered");
  if (!def) return;
  CHECK(def->inputs.size() == 5 && def->outputs.size() == 3, "5 inputs, 3 outputs");
  CHECK(def->inputs.size() == 5 && def->inputs[4].valueDepend, "config is value-depend");
  CHECK(arity(&crnn_ctc_loss) == def->inputs.size() + def->outputs.size() + 2,
        "kernel parameters: inputs, outputs, workspace, tiling");
  CHECK(def->inputs[0].dtypes == def->outputs[1].dtypes, "grad has the logits' dtype");
  struct Case {
    gert::Shape logits;
    int64_t S;
    ge::DataType dtype;
    std::vector<int32_t> cfg;
    int32_t blank;
    uint32_t elemBytes;
  };
  const Case cases[] = {
      {{26, 64, 37}, 25, ge::DT_FLOAT, {-1, 0, 0, 0}, 36, 4},    // MindOCR: padded labels
      {{25, 16, 6625}, 25, ge::DT_FLOAT16, {0, 1, 1, 1}, 0, 2},  // Chinese, lengths given
      {{1, 1, 2}, 0, ge::DT_BF16, {-2, 0, 1, 0}, 0, 2},
  };
  for (const Case &c : cases) {
    gert::TilingContext ctx;
    ctx.in = loss_inputs(c.logits, c.S, c.dtype, c.cfg);
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_SUCCESS, "tiling C=%lld",
          (long long)c.logits.GetDim(2));
    const int64_t T = c.logits.GetDim(0), B = c.logits.GetDim(1), C = c.logits.GetDim(2);
    const CtcLossTiling want = crnn::ascend_tiling::ctc_loss_tiling(
        T, B, C, c.S, c.elemBytes, c.blank, c.cfg[1], true, c.cfg[2] != 0, c.cfg[3] != 0, 40,
        ctx.platform.ubBytes);
    CHECK(ctx.tiling.size() == sizeof(want) && memcmp(ctx.tiling.data(), &want, sizeof(want)) == 0,
          "tiling data = the host driver's (C=%lld)", (long long)C);
    CHECK(ctx.blockDim == want.coreNum, "block dim %u", ctx.blockDim);
    CHECK(ctx.workspaces.size() == 1 &&
              ctx.workspaces[0] ==
                  ctx.platform.libApiWorkspace + crnn::ascend_tiling::error_keys_workspace_bytes(B),
          "workspace");
    gert::InferShapeContext sh;
    sh.in = loss_inputs(c.logits, c.S, c.dtype, c.cfg);
    sh.outputs.resize(3);
    CHECK(def->inferShape(&sh) == ge::GRAPH_SUCCESS, "InferShape");
    CHECK(sh.outputs[0] == gert::Shape{B} && sh.outputs[1] == c.logits &&
              sh.outputs[2] == gert::Shape{1},
          "output shapes");
    gert::InferDataTypeContext dt;
    dt.inputs = {c.dtype, ge::DT_INT32, ge::DT_INT32, ge::DT_INT32, ge::DT_INT32};
    dt.outputs.resize(3);
    CHECK(def->inferDataType(&dt) == ge::GRAPH_SUCCESS, "InferDataType");
    CHECK((dt.outputs == std::vector<ge::DataType>{ge::DT_FLOAT, c.dtype, ge::DT_UINT64}),
          "output dtypes");
  }
  const Case bad[] = {
      {{25, 4, 37}, 10, ge::DT_FLOAT, {37, 0, 0, 0}, 0, 4},     // blank = C
      {{25, 4, 1}, 10, ge::DT_FLOAT, {0, 0, 0, 0}, 0, 4},       // C < 2
      {{25, 4}, 10, ge::DT_FLOAT, {0, 0, 0, 0}, 0, 4},          // rank 2
      {{4000, 4, 6625}, 25, ge::DT_FLOAT, {0, 0, 0, 0}, 0, 4},  // alpha rows beyond the UB
  };
  for (const Case &c : bad) {
    gert::TilingContext ctx;
    ctx.in = loss_inputs(c.logits, c.S, c.dtype, c.cfg);
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_FAILED, "bad call cfg0=%d", c.cfg[0]);
  }
}

}  // namespace

int main() {
  check_every_op_registration();
  check_greedy();
  check_loss();
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
