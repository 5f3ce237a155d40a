// The LSTM ops' configuration from their input shapes (shared by op_host/lstm_forward.cpp and
// lstm_backward.cpp), as the MindSpore aot entries read it (csrc/aot_lstm.cpp): everything
// travels in shapes, so no input is value-depend.
//   x (T, B, I); h0, c0 (L*D, B, H), or rank != 3: absent (zeros); seq_length (B,), or rank
//   != 1: absent (all T); config: its SHAPE (L, D, H) (any dtype, values unread); weights
//   (n,) flat, n = the parameter count with biases or without (has_bias from n).
#pragma once

#include <stdint.h>

#include "common/device_error.h"
#include "lstm_tiling_host.h"
#include "register/op_def_registry.h"

namespace crnn_ascend_lstm {

struct LstmOpShapes {
  int64_t T, B, I, H, L, D;
  bool bias, hasHx, hasSeq;
  int64_t numWeights;
};

inline bool same_dims(const gert::Shape *s, std::initializer_list<int64_t> dims) {
  if (!s || s->GetDimNum() != dims.size()) return false;
  size_t i = 0;
  for (int64_t d : dims)
    if (s->GetDim(i++) != d) return false;
  return true;
}

// Inputs 0..5 (x, h0, c0, seq_length, config, weights); false when not a call the kernels take
// (invalid, or beyond their limits: L*D > kLstmMaxPairs, int32 Matmul shapes).
inline bool ReadLstmShapes(const gert::Shape *x, const gert::Shape *h0, const gert::Shape *c0,
                           const gert::Shape *seq, const gert::Shape *config,
                           const gert::Shape *weights, LstmOpShapes &s) {
  namespace lt = crnn::ascend_lstm;
  if (!x || !h0 || !c0 || !seq || !config || !weights) return false;
  if (x->GetDimNum() != 3 || config->GetDimNum() != 3 || weights->GetDimNum() != 1) return false;
  s.T = x->GetDim(0), s.B = x->GetDim(1), s.I = x->GetDim(2);
  s.L = config->GetDim(0), s.D = config->GetDim(1), s.H = config->GetDim(2);
  if (s.T < 1 || s.B < 1 || s.I < 1 || s.H < 1 || s.L < 1 || (s.D != 1 && s.D != 2) ||
      s.T > crnn::kDeviceMaxFrames || s.B > INT32_MAX || s.L >= (1 << 20))
    return false;
  if (!lt::lstm_shape_ok(s.T, s.B, s.I, s.H, s.L, s.D)) return false;
  s.hasHx = h0->GetDimNum() == 3;
  if (s.hasHx && !(same_dims(h0, {s.L * s.D, s.B, s.H}) && same_dims(c0, {s.L * s.D, s.B, s.H})))
    return false;
  s.hasSeq = seq->GetDimNum() == 1;
  if (s.hasSeq && seq->GetDim(0) != s.B) return false;
  const int64_t n = weights->GetDim(0);
  const uint64_t with = lt::lstm_weight_offsets(s.I, s.H, s.L, s.D, true).total;
  const uint64_t without = lt::lstm_weight_offsets(s.I, s.H, s.L, s.D, false).total;
  if (n < 1 || (uint64_t(n) != with && uint64_t(n) != without)) return false;
  s.bias = uint64_t(n) == with;
  s.numWeights = n;
  return true;
}

// A required ND float32 parameter of an LSTM op: an input, or an output.
inline void AddF32(ops::OpDef &op, const char *name, bool input) {
  (input ? op.Input(name) : op.Output(name))
      .ParamType(ops::REQUIRED)
      .DataType({ge::DT_FLOAT})
      .Format({ge::FORMAT_ND});
}

// The inputs every LSTM op starts with: x, h0, c0, seq_length, config (int8: its shape is read),
// weights.
inline void AddLstmInputs(ops::OpDef &op) {
  for (const char *n : {"x", "h0", "c0"}) AddF32(op, n, true);
  op.Input("seq_length").ParamType(ops::REQUIRED).DataType({ge::DT_INT32}).Format({ge::FORMAT_ND});
  op.Input("config").ParamType(ops::REQUIRED).DataType({ge::DT_INT8}).Format({ge::FORMAT_ND});
  AddF32(op, "weights", true);
}

}  // namespace crnn_ascend_lstm
