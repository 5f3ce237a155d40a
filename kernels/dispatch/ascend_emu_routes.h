// The entry points of entry_points.h the ascend-emu backend implements (the Ascend C kernels on
// our host model of the API, kernels/ascend/): dispatch.cpp routes these to
// `crnn_ascend_emu_<name>` and answers NOT_SUPPORTED for the others. A kernel that lands adds
// one line `#define CRNN_ASCEND_EMU_<name>() CRNN_ROUTE_PROBE()` below.
#pragma once

#include "entry_points.h"

#define CRNN_ASCEND_EMU_ctc_greedy_workspace_size() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_ctc_greedy_f32() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_lstm_forward_workspace_size() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_lstm_forward_f32() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_lstm_backward_workspace_size() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_lstm_backward_f32() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_ctc_loss_workspace_size() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_ctc_loss_f32() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_ctc_loss_f16() CRNN_ROUTE_PROBE()
#define CRNN_ASCEND_EMU_ctc_loss_bf16() CRNN_ROUTE_PROBE()

// CRNN_ASCEND_EMU_HAS(name): 1 when the line above exists for `name`, else 0 (a probe macro
// expands to two arguments, an undefined name to one).
#define CRNN_ROUTE_PROBE() ~, 1
#define CRNN_ROUTE_SECOND(a, b, ...) b
#define CRNN_ROUTE_IS_PROBE(...) CRNN_ROUTE_SECOND(__VA_ARGS__, 0, )
#define CRNN_ASCEND_EMU_HAS(name) CRNN_ROUTE_IS_PROBE(CRNN_ASCEND_EMU_##name())
// CRNN_ROUTE_IF(c)(tokens): the tokens when c is 1, nothing when 0.
#define CRNN_ROUTE_CAT(a, b) CRNN_ROUTE_CAT_(a, b)
#define CRNN_ROUTE_CAT_(a, b) a##b
#define CRNN_ROUTE_IF(c) CRNN_ROUTE_CAT(CRNN_ROUTE_IF_, c)
#define CRNN_ROUTE_IF_1(...) __VA_ARGS__
#define CRNN_ROUTE_IF_0(...)

#define CRNN_DECLARE_ASCEND_EMU(ret, name, options, params, args) ret crnn_ascend_emu_##name params;
#ifdef __cplusplus
extern "C" {
#endif
CRNN_ENTRY_POINTS(CRNN_DECLARE_ASCEND_EMU)
// crnn_device_error_read of this backend (the record at the start of the workspace).
crnn_status_t crnn_ascend_emu_device_error_read(const void *workspace, void *stream,
                                                int32_t *error_index, int32_t *error_frame);
#ifdef __cplusplus
}
#endif
#undef CRNN_DECLARE_ASCEND_EMU
