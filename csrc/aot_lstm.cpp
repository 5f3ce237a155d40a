// MindSpore aot entry points of the fused LSTM stack (thin adapters over crnn/lstm.h).
//
// The configuration travels in shapes, so that MindSpore's shape inference and the bprop (whose
// parsed graph MindSpore shares between all instances of a Python function) need no state:
// Forward inputs, in order:
//   0 x (T, B, I) float32
//   1 h0, 2 c0 (L*D, B, H) float32, or any 1-D stand-in for zeros
//   3 seq_length (B,) int32, or any 2-D stand-in for "all T"
//   4 config, any dtype, shape (L, D, H): num_layers, directions (1 or 2), hidden size
//   5 weights, float32, grouped by kind, each kind in layer * D + direction order: the L*D
//     w_ih (4H, I_l), the L*D w_hh (4H, H), then (with biases) the L*D b_ih (4H,) and the L*D
//     b_hh (4H,). Either flat: ONE 1-D tensor, every parameter flattened and concatenated
//     (has_bias follows from its size); or split: NW = 4*L*D (2*L*D without biases) tensors,
//     one per parameter, at 5 .. 5+NW-1 (the layer's Parameters as they are: no concat/split).
//     NW (1 when flat) follows from the tensor count; below, indices are for NW = 1 and every
//     index after the weights moves by NW - 1.
// Forward outputs: 6 y (T, B, D*H), 7 h_n, 8 c_n (L*D, B, H), and for the training entry
// 9 reserve (crnn_lstm_reserve_size floats, 1-D).
// Backward inputs: 0-5 as the forward, 6 y, 7 reserve, 8 dy, 9 dh_n, 10 dc_n; outputs 11 dx,
// 12 dh0, 13 dc0, 14 dweights (the layout of `weights`: flat, or NW tensors when split).
#include <string>
#include <vector>

#include "aot_util.h"
#include "check_lstm.h"
#include "crnn/lstm.h"

namespace crnn {
namespace aot {
namespace {

struct LstmCall {
  crnn_lstm_desc desc{};
  int64_t D = 1, LD = 1, num_weights = 0;
  int nw = 1;  // weight tensors: 1 (flat) or one per parameter (split)
  bool has_hx = false, has_seq = false;
  std::vector<const float *> w[4];  // w_ih, w_hh, b_ih, b_hh
  std::vector<int64_t> offset[4];   // of each parameter within the flat weights
  crnn_lstm_weights_f32 weights() const {
    return {w[0].data(), w[1].data(), desc.has_bias ? w[2].data() : nullptr,
            desc.has_bias ? w[3].data() : nullptr};
  }
};

// (name, dims) of parameter `idx` (layer * D + direction) of kind k (w_ih, w_hh, b_ih, b_hh).
std::string param_name(int k, int64_t idx, int64_t D) {
  static const char *kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  return std::string(kinds[k]) + "_l" + std::to_string(idx / D) + (idx % D ? "_reverse" : "");
}

// Parses and checks the inputs shared by all entries; `n_total(nw)` is the entry's tensor count
// for nw weight tensors.
// The CPU entries scan x, h0, c0 and the weights for NaN/Inf (not the backward: its forward
// did) and check seq_length here; on a device the tensors stay there unscanned (as cuDNN's),
// and the kernels check seq_length themselves (the error record).
template <typename NTotal>
LstmCall parse(const Args &a, NTotal n_total, bool check_finite) {
  LstmCall c;
  check_finite = check_finite && !a.on_device();
  require(a.n > 5, "expected at least 6 tensors, got " + std::to_string(a.n));
  require(a.ndims[4] == 3,
          "config must have shape (num_layers, directions, hidden_size), got " + a.shape(4));
  const int64_t L = a.dim(4, 0), H = a.dim(4, 2);
  c.D = a.dim(4, 1);
  a.expect(0, "x", "float32", 3, "(T, B, I)");
  const int64_t T = a.dim(0, 0), B = a.dim(0, 1), I = a.dim(0, 2);
  require_ok(check::lstm_sizes(T, B, I, H, L, a.shape(0)));
  require(L < (1 << 20), "num_layers must be < 2^20, got " + std::to_string(L));
  require(c.D == 1 || c.D == 2, "directions must be 1 or 2, got " + std::to_string(c.D));
  c.LD = L * c.D;
  c.has_hx = a.ndims[1] == 3;
  c.has_seq = a.ndims[3] == 1;
  int64_t total = 0, matrices = 0;
  for (int k = 0; k < 4; ++k)
    for (int64_t idx = 0; idx < c.LD; ++idx) {
      c.offset[k].push_back(total);
      total += k >= 2 ? 4 * H : 4 * H * (k == 1 ? H : idx < c.D ? I : c.D * H);
      if (k == 1 && idx == c.LD - 1) matrices = total;
    }
  int32_t has_bias = 0;
  if (a.n == n_total(1)) {  // flat
    a.expect(5, "weights", "float32", 1, "(n,)");
    has_bias = a.dim(5, 0) == total;
    require(has_bias || a.dim(5, 0) == matrices,
            "weights must hold the " + std::to_string(total) + " (with biases) or " +
                std::to_string(matrices) + " (without) flattened parameters, got shape " +
                a.shape(5));
    if (check_finite) require_finite(a, 5, "weights");
    for (int k = 0; k < (has_bias ? 4 : 2); ++k)
      for (int64_t off : c.offset[k]) c.w[k].push_back(a.ptr<float>(5) + off);
  } else {  // split: one tensor per parameter
    has_bias = a.n == n_total(static_cast<int>(4 * c.LD));
    require(has_bias || a.n == n_total(static_cast<int>(2 * c.LD)),
            "expected " + std::to_string(n_total(1)) + " tensors (flat weights) or " +
                std::to_string(n_total(static_cast<int>(4 * c.LD))) + " / " +
                std::to_string(n_total(static_cast<int>(2 * c.LD))) +
                " (one per parameter, with / without biases), got " + std::to_string(a.n));
    c.nw = static_cast<int>((has_bias ? 4 : 2) * c.LD);
    for (int k = 0; k < (has_bias ? 4 : 2); ++k)
      for (int64_t idx = 0; idx < c.LD; ++idx) {
        const int t = 5 + static_cast<int>(k * c.LD + idx);
        const std::string name = param_name(k, idx, c.D);
        const int64_t in = idx < c.D ? I : c.D * H;
        a.expect(t, name.c_str(), "float32", k >= 2 ? 1 : 2, k >= 2 ? "(4H,)" : "(4H, in)");
        if (k >= 2)
          a.expect_dims(t, name.c_str(), {4 * H});
        else
          a.expect_dims(t, name.c_str(), {4 * H, k == 1 ? H : in});
        if (check_finite) require_finite(a, t, name);
        c.w[k].push_back(a.ptr<float>(t));
      }
  }
  c.num_weights = has_bias ? total : matrices;
  c.desc = crnn_lstm_desc{
      T, B, I, H, static_cast<int32_t>(L), c.D == 2, has_bias, 0, CRNN_DEVICE_CPU, nullptr};
  a.place(c.desc);
  if (check_finite) require_finite(a, 0, "x");
  if (c.has_hx) {
    for (int i : {1, 2}) {
      const char *name = i == 1 ? "h0" : "c0";
      a.expect(i, name, "float32", 3, "(L*D, B, H)");
      a.expect_dims(i, name, {c.LD, B, H});
      if (check_finite) require_finite(a, i, name);
    }
  }
  if (c.has_seq) {
    a.expect(3, "seq_length", "int32", 1, "(B,)");
    a.expect_dims(3, "seq_length", {B});
    if (!a.on_device()) require_ok(check::lengths(a.ptr<int32_t>(3), B, T, "seq_length", "T"));
  }
  return c;
}

// What a failed kernel call names: on a device, INVALID_VALUE is its seq_length check.
const char *what_failed(const Args &a, crnn_status_t st, const char *op) {
  return a.on_device() && st == CRNN_STATUS_INVALID_VALUE ? "seq_length out of range [0, T]" : op;
}

void expect_output(const Args &a, int i, const char *name, std::initializer_list<int64_t> dims) {
  a.expect(i, name, "float32", static_cast<int>(dims.size()), "");
  a.expect_dims(i, name, dims);
}

int forward(const char *entry, int32_t device, int nparam, void **params, int *ndims,
            int64_t **shapes, const char **dtypes, void *stream, bool training) {
  return guarded(entry, [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    const LstmCall c = parse(a, [&](int nw) { return 5 + nw + (training ? 4 : 3); }, true);
    const crnn_lstm_desc &d = c.desc;
    const int o = 5 + c.nw;
    expect_output(a, o, "y", {d.T, d.B, c.D * d.H});
    expect_output(a, o + 1, "h_n", {c.LD, d.B, d.H});
    expect_output(a, o + 2, "c_n", {c.LD, d.B, d.H});
    float *reserve = nullptr;
    if (training) {
      expect_output(a, o + 3, "reserve", {static_cast<int64_t>(crnn_lstm_reserve_size(&d))});
      reserve = a.ptr<float>(o + 3);
    }
    const size_t ws = crnn_lstm_forward_workspace_size(&d);
    const crnn_lstm_weights_f32 w = c.weights();
    void *wsp = a.workspace(ws);
    int32_t err = -1, frame = -1;
    const crnn_status_t st = a.with_device_errors(
        crnn_lstm_forward_f32(a.ptr<float>(o), a.ptr<float>(o + 1), a.ptr<float>(o + 2), reserve,
                              a.ptr<float>(0), c.has_hx ? a.ptr<float>(1) : nullptr,
                              c.has_hx ? a.ptr<float>(2) : nullptr,
                              c.has_seq ? a.ptr<int32_t>(3) : nullptr, &w, &d, wsp, ws),
        wsp, &err, &frame);
    check_status(st, err, what_failed(a, st, "LSTM forward"));
  });
}

int forward_train(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                  const char **dtypes, void *stream) {
  return forward("lstm_forward_train", device, nparam, params, ndims, shapes, dtypes, stream, true);
}

int forward_infer(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                  const char **dtypes, void *stream) {
  return forward("lstm_forward_infer", device, nparam, params, ndims, shapes, dtypes, stream,
                 false);
}

}  // namespace
}  // namespace aot
}  // namespace crnn

using crnn::aot::Args;

namespace {

int backward_entry(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                   const char **dtypes, void *stream) {
  using namespace crnn::aot;
  return guarded("lstm_backward", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    const LstmCall c = parse(a, [](int nw) { return 13 + 2 * nw; }, false);
    const crnn_lstm_desc &d = c.desc;
    const int i = 5 + c.nw;
    expect_output(a, i, "y", {d.T, d.B, c.D * d.H});
    expect_output(a, i + 1, "reserve", {static_cast<int64_t>(crnn_lstm_reserve_size(&d))});
    expect_output(a, i + 2, "dy", {d.T, d.B, c.D * d.H});
    expect_output(a, i + 3, "dh_n", {c.LD, d.B, d.H});
    expect_output(a, i + 4, "dc_n", {c.LD, d.B, d.H});
    // Non-finite dy / dh_n / dc_n pass (a loss-scale overflow): they propagate into the
    // gradients for the train step's overflow check; see crnn_aot_conv2d_backward.
    const int o = i + 5;
    expect_output(a, o, "dx", {d.T, d.B, d.I});
    expect_output(a, o + 1, "dh0", {c.LD, d.B, d.H});
    expect_output(a, o + 2, "dc0", {c.LD, d.B, d.H});
    std::vector<float *> g[4];
    if (c.nw == 1) {
      expect_output(a, o + 3, "dweights", {c.num_weights});
      for (int k = 0; k < 4; ++k)
        for (int64_t off : c.offset[k]) g[k].push_back(a.ptr<float>(o + 3) + off);
    } else {
      for (int k = 0; k < (d.has_bias ? 4 : 2); ++k)
        for (int64_t idx = 0; idx < c.LD; ++idx) {
          const int t = o + 3 + static_cast<int>(k * c.LD + idx), w = 5 + t - (o + 3);
          const std::string name = "d" + param_name(k, idx, c.D);
          a.expect(t, name.c_str(), "float32", a.ndims[w], "");
          for (int j = 0; j < a.ndims[w]; ++j)
            require(a.dim(t, j) == a.dim(w, j), name + " must have the shape of its parameter");
          g[k].push_back(a.ptr<float>(t));
        }
    }
    if (!d.has_bias) g[2] = g[3] = std::vector<float *>(c.LD, nullptr);
    const size_t ws = crnn_lstm_backward_workspace_size(&d);
    const crnn_lstm_weights_f32 w = c.weights();
    void *wsp = a.workspace(ws);
    int32_t err = -1, frame = -1;
    const crnn_status_t st = a.with_device_errors(
        crnn_lstm_backward_f32(
            a.ptr<float>(o), a.ptr<float>(o + 1), a.ptr<float>(o + 2), g[0].data(), g[1].data(),
            g[2].data(), g[3].data(), a.ptr<float>(i + 2), a.ptr<float>(i + 3), a.ptr<float>(i + 4),
            a.ptr<float>(0), a.ptr<float>(i), c.has_hx ? a.ptr<float>(1) : nullptr,
            c.has_hx ? a.ptr<float>(2) : nullptr, c.has_seq ? a.ptr<int32_t>(3) : nullptr,
            a.ptr<float>(i + 1), &w, &d, wsp, ws),
        wsp, &err, &frame);
    check_status(st, err, what_failed(a, st, "LSTM backward"));
  });
}

}  // namespace

CRNN_AOT_ENTRY(lstm_forward_train, crnn::aot::forward_train)
CRNN_AOT_ENTRY(lstm_forward_infer, crnn::aot::forward_infer)
CRNN_AOT_ENTRY(lstm_backward, backward_entry)
