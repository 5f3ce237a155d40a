// Compile check: the scalar math in kernels/common is usable from device code, so the CUDA
// kernels can share it with the CPU ones (built when CMake finds nvcc; no GPU needed).
#include "../../kernels/common/ctc_math.h"
#include "../../kernels/common/fast_math.h"

__global__ void crnn_common_headers_check(const float *x, const int32_t *label, float *out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float v = crnn::log_add_exp3(x[i], crnn::log_fast(x[i] + 2.0f), crnn::exp_fast(-x[i]));
  v += static_cast<float>(crnn::log_add_exp<double>(v, crnn::log_fast<double>(2.0)) +
                          crnn::exp_fast<double>(1.0));
  v += crnn::ctc_can_skip(label, i) + crnn::ctc_state_class(label, i, 0) +
       crnn::ctc_min_frames(label, 2);
  out[i] = v;
}
