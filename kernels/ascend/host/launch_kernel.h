// How the ascend-emu host drivers launch a kernel on our API model: `cores` vector cores with the
// 910B's UB; a broken API rule is printed ("crnn_fast ascend-emu <kernel>: core i: api: what")
// and returns false (the driver answers EXECUTION_FAILED).
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <functional>
#include <string>

#include "emu_launch.h"

namespace crnn {
namespace ascend_emu_kernels {

inline bool launch_kernel(const char *what, uint32_t cores, const std::function<void()> &kernel) {
  const std::string err = crnn::ascend_emu::launch(cores, crnn::ascend_emu::kUbBytes910B, kernel);
  if (err.empty()) return true;
  fprintf(stderr, "crnn_fast ascend-emu %s: %s\n", what, err.c_str());
  return false;
}

}  // namespace ascend_emu_kernels
}  // namespace crnn
