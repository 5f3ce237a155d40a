// The CPU backend's entry points: every function of kernels/dispatch/entry_points.h as
// `crnn_cpu_<name>`, called by the dispatch for CRNN_DEVICE_CPU. Same arguments, layouts and
// statuses as the public functions (kernels/include/crnn/); `device` and `stream` are not read.
#pragma once

#include "../dispatch/entry_points.h"

#define CRNN_DECLARE_CPU(ret, name, options, params, args) ret crnn_cpu_##name params;

#ifdef __cplusplus
extern "C" {
#endif

CRNN_ENTRY_POINTS(CRNN_DECLARE_CPU)
CRNN_CPU_ONLY_ENTRY_POINTS(CRNN_DECLARE_CPU)

#ifdef __cplusplus
}
#endif

#undef CRNN_DECLARE_CPU
