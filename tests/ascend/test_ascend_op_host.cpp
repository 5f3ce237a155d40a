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
#include "../../kernels/ascend/op_host/lstm_tiling_host.h"
#include "../cpp/check.h"
#include "common/lstm_layout.h"
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

// An LSTM op's shapes: x, h0, c0, seq_length, config (L, D, H), weights (then the backward's y,
// reserve, dy, dh_n, dc_n when `backward`).
struct LstmCase {
  int64_t T, B, I, H, L, D;
  bool bias, hx, seq;
  int64_t LD() const { return L * D; }
  int64_t weights() const {
    return int64_t(crnn::ascend_lstm::lstm_weight_offsets(I, H, L, D, bias).total);
  }
  int64_t reserve() const { return crnn::lstm_reserve_size(T, B, H, L, D); }
  gert::ContextInputs inputs(bool backward) const {
    gert::ContextInputs in;
    in.inputs = {{gert::Shape{T, B, I}},
                 {hx ? gert::Shape{LD(), B, H} : gert::Shape{1}},
                 {hx ? gert::Shape{LD(), B, H} : gert::Shape{1}},
                 {seq ? gert::Shape{B} : gert::Shape{1, 1}},
                 {gert::Shape{L, D, H}},
                 {gert::Shape{weights()}}};
    if (backward)
      for (const gert::Shape &sh :
           {gert::Shape{T, B, D * H}, gert::Shape{reserve()}, gert::Shape{T, B, D * H},
            gert::Shape{LD(), B, H}, gert::Shape{LD(), B, H}})
        in.inputs.push_back({sh});
    return in;
  }
};

const LstmCase kLstmCases[] = {
    {26, 64, 512, 256, 2, 2, true, false, false},  // CRNN: no h0, all T
    {7, 5, 3, 13, 3, 1, false, true, true},        // small, ragged (seq_length), h0 / c0, no bias
};

// The tiling the op_host must produce: the host driver's (the shared function, its flags set
// from the shapes as the driver sets them from its NULL pointers), on a 910B's 40 AIVs.
template <typename Tiling>
void check_lstm_tiling(const gert::TilingContext &ctx, const Tiling &want, uint64_t ws,
                       const char *what) {
  CHECK(ctx.tiling.size() == sizeof(want) && memcmp(ctx.tiling.data(), &want, sizeof(want)) == 0,
        "%s: tiling data = the host driver's", what);
  CHECK(ctx.blockDim == (want.coreNum + 1) / 2, "%s: block dim %u (MIX: AIC blocks)", what,
        ctx.blockDim);
  CHECK(ctx.workspaces.size() == 1 && ctx.workspaces[0] == ctx.platform.libApiWorkspace + ws,
        "%s: workspace", what);
}

void check_shapes(const std::vector<gert::Shape> &got, const std::vector<gert::Shape> &want,
                  const char *what) {
  CHECK(got == want, "%s: output shapes", what);
}

void check_lstm_forward(const char *op_type, bool train) {
  namespace lt = crnn::ascend_lstm;
  const auto def = make(op_type);
  CHECK(def != nullptr, "%s registered", op_type);
  if (!def) return;
  const size_t n_out = train ? 5 : 4;
  CHECK(def->inputs.size() == 6 && def->outputs.size() == n_out, "%s: 6 inputs, %zu outputs",
        op_type, n_out);
  CHECK(def->outputs.back().name == "error", "%s: error last", op_type);
  const size_t kernel_arity = train ? arity(&crnn_lstm_forward) : arity(&crnn_lstm_forward_infer);
  CHECK(kernel_arity == def->inputs.size() + def->outputs.size() + 2,
        "%s kernel parameters: inputs, outputs, workspace, tiling", op_type);
  for (const auto &p : def->inputs) CHECK(!p.valueDepend, "%s: shape-encoded config", op_type);
  for (const LstmCase &c : kLstmCases) {
    gert::TilingContext ctx;
    ctx.in = c.inputs(false);
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_SUCCESS, "%s tiling H=%lld", op_type,
          (long long)c.H);
    uint64_t ws = 0;
    LstmForwardTiling want = lt::lstm_forward_tiling(c.T, c.B, c.I, c.H, c.L, c.D, c.bias, 40, &ws);
    want.hasH0 = want.hasC0 = c.hx, want.hasSeq = c.seq, want.train = train;
    check_lstm_tiling(ctx, want, ws, op_type);
    CHECK(want.weights.total == uint64_t(c.weights()) && want.rowsPerTile > 0, "weights layout");
    gert::InferShapeContext sh;
    sh.in = c.inputs(false);
    sh.outputs.resize(n_out);
    CHECK(def->inferShape(&sh) == ge::GRAPH_SUCCESS, "%s InferShape", op_type);
    std::vector<gert::Shape> shapes = {
        {c.T, c.B, c.D * c.H}, {c.LD(), c.B, c.H}, {c.LD(), c.B, c.H}};
    if (train) shapes.push_back({c.reserve()});
    shapes.push_back({1});
    check_shapes(sh.outputs, shapes, op_type);
  }
  const LstmCase crnn = kLstmCases[0];
  const uint64_t G = 1024, I = 512, H = 256;  // the CRNN layout, by hand
  const LstmWeightOffsets w = lt::lstm_weight_offsets(512, 256, 2, 2, true);
  CHECK(w.off[1][0] == G * I && w.off[3][0] == G * I * 3 && w.off[0][1] == G * I * 4 &&
            w.off[3][1] == G * I * 4 + 3 * G * H && w.off[0][2] == G * I * 4 + 4 * G * H &&
            w.off[0][3] == G * I * 4 + 4 * G * H + 4 * G &&
            w.total == G * I * 4 + 4 * G * H + 8 * G && int64_t(w.total) == crnn.weights(),
        "the CRNN weights' offsets");
  gert::InferDataTypeContext dt;
  dt.outputs.resize(n_out);
  CHECK(def->inferDataType(&dt) == ge::GRAPH_SUCCESS, "%s InferDataType", op_type);
  std::vector<ge::DataType> types(n_out, ge::DT_FLOAT);
  types.back() = ge::DT_UINT64;
  CHECK(dt.outputs == types, "%s output dtypes", op_type);
  // Bad calls: each a valid CRNN call with one thing wrong.
  std::vector<gert::ContextInputs> bad;
  const auto with = [&](size_t i, gert::Shape sh) {
    gert::ContextInputs in = crnn.inputs(false);
    in.inputs[i].shape = std::move(sh);
    bad.push_back(std::move(in));
  };
  with(0, {26, 64});              // x rank 2
  with(4, {2, 3, 256});           // 3 directions
  with(4, {9, 2, 256});           // L*D = 18 > kLstmMaxPairs
  with(5, {crnn.weights() - 1});  // weights size
  with(1, {4, 64, 255});          // h0 dims
  with(3, {63});                  // seq_length length
  with(0, {26, 64, 0});           // I = 0
  LstmCase big = crnn;
  big.H = 5000, big.I = 8, big.L = 1;  // one sample's tile beyond the UB
  bad.push_back(big.inputs(false));
  for (size_t i = 0; i < bad.size(); ++i) {
    gert::TilingContext ctx;
    ctx.in = bad[i];
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_FAILED, "%s bad call %zu", op_type, i);
    gert::InferShapeContext sh;
    sh.in = bad[i];
    sh.outputs.resize(n_out);
    if (i + 1 < bad.size())  // (a shape beyond the UB is valid: only the tiling refuses it)
      CHECK(def->inferShape(&sh) == ge::GRAPH_FAILED, "%s InferShape bad call %zu", op_type, i);
  }
}

void check_lstm_backward() {
  namespace lt = crnn::ascend_lstm;
  const auto def = make("CrnnLstmBackward");
  CHECK(def != nullptr, "CrnnLstmBackward registered");
  if (!def) return;
  CHECK(def->inputs.size() == 11 && def->outputs.size() == 5, "11 inputs, 5 outputs");
  CHECK(arity(&crnn_lstm_backward) == def->inputs.size() + def->outputs.size() + 2,
        "kernel parameters: inputs, outputs, workspace, tiling");
  for (const LstmCase &c : kLstmCases) {
    gert::TilingContext ctx;
    ctx.in = c.inputs(true);
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_SUCCESS, "backward tiling H=%lld", (long long)c.H);
    uint64_t ws = 0;
    LstmBackwardTiling want =
        lt::lstm_backward_tiling(c.T, c.B, c.I, c.H, c.L, c.D, c.bias, 40, &ws);
    want.hasH0 = want.hasC0 = c.hx, want.hasSeq = c.seq;
    want.hasDhn = want.hasDcn = want.hasDh0 = want.hasDc0 = 1;
    check_lstm_tiling(ctx, want, ws, "CrnnLstmBackward");
    gert::InferShapeContext sh;
    sh.in = c.inputs(true);
    sh.outputs.resize(5);
    CHECK(def->inferShape(&sh) == ge::GRAPH_SUCCESS, "backward InferShape");
    check_shapes(sh.outputs,
                 {{c.T, c.B, c.I}, {c.LD(), c.B, c.H}, {c.LD(), c.B, c.H}, {c.weights()}, {1}},
                 "CrnnLstmBackward");
  }
  gert::InferDataTypeContext dt;
  dt.outputs.resize(5);
  CHECK(def->inferDataType(&dt) == ge::GRAPH_SUCCESS, "backward InferDataType");
  CHECK((dt.outputs == std::vector<ge::DataType>{ge::DT_FLOAT, ge::DT_FLOAT, ge::DT_FLOAT,
                                                 ge::DT_FLOAT, ge::DT_UINT64}),
        "backward output dtypes");
  const LstmCase crnn = kLstmCases[0];
  const std::pair<size_t, gert::Shape> bad[] = {
      {6, {26, 64, 256}},         // y: D*H = 512
      {7, {crnn.reserve() + 1}},  // reserve size
      {8, {25, 64, 512}},         // dy frames
      {9, {4, 64, 255}},          // dh_n
      {10, {1}},                  // dc_n absent
      {4, {2, 2, 256, 1}},        // config rank 4
  };
  for (const auto &[i, sh] : bad) {
    gert::TilingContext ctx;
    ctx.in = crnn.inputs(true);
    ctx.in.inputs[i].shape = sh;
    CHECK(def->aicore.tiling(&ctx) == ge::GRAPH_FAILED, "backward bad input %zu", i);
  }
}

}  // namespace

int main() {
  check_every_op_registration();
  check_greedy();
  check_loss();
  check_lstm_forward("CrnnLstmForward", true);
  check_lstm_forward("CrnnLstmForwardInfer", false);
  check_lstm_backward();
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
