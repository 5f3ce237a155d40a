// What the tests of the Ascend C host model share: a launch on the model (a broken API rule comes
// back as "core i: api: what", empty when none) and the check that such a message names a rule.
#pragma once

#include <stdint.h>

#include <functional>
#include <string>

#include "../cpp/check.h"
#include "kernel_operator.h"

inline std::string run(const std::function<void()> &kernel, uint32_t cores = 1,
                       uint32_t ub = crnn::ascend_emu::kUbBytes910B) {
  return crnn::ascend_emu::launch(cores, ub, kernel);
}

#define EXPECT_MSG(msg, needle) \
  CHECK((msg).find(needle) != std::string::npos, "got \"%s\", want \"%s\"", (msg).c_str(), needle)
