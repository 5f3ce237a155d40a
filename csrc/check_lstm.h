// One validation of the LSTM stack's arguments, shared by the pybind11 binding (bind_lstm.cpp)
// and the MindSpore aot entries (aot_lstm.cpp): framework-free, a check::Check out (see
// check_common.h). Array types, dtypes, ranks and the parameter layout stay in each layer;
// seq_length is check::lengths(seq, B, T, "seq_length", "T").
#pragma once

#include <stdint.h>

#include <string>

#include "check_common.h"

namespace crnn {
namespace check {

// x (T, B, I) (x_shape: its shape as text), hidden_size H, num_layers L: T, B, I >= 1, H >= 1,
// L >= 1, and L and 4 * H fit int32.
Check lstm_sizes(int64_t T, int64_t B, int64_t I, int64_t H, int64_t num_layers,
                 const std::string &x_shape);

}  // namespace check
}  // namespace crnn
