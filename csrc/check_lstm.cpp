// One validation of the LSTM stack's arguments (see check_lstm.h).
#include "check_lstm.h"

#include <climits>

namespace crnn {
namespace check {

Check lstm_sizes(int64_t T, int64_t B, int64_t I, int64_t H, int64_t num_layers,
                 const std::string &x_shape) {
  if (T < 1 || B < 1 || I < 1) return Check{"x must have T, B, I >= 1, got shape " + x_shape};
  if (H < 1) return Check{"hidden_size must be >= 1, got " + std::to_string(H)};
  if (num_layers < 1) return Check{"num_layers must be >= 1, got " + std::to_string(num_layers)};
  if (num_layers > INT32_MAX || H > INT32_MAX / 4)
    return Check{"num_layers and 4 * hidden_size must fit int32, got num_layers = " +
                 std::to_string(num_layers) + ", hidden_size = " + std::to_string(H)};
  return ok();
}

}  // namespace check
}  // namespace crnn
