// The LSTM forward with its recurrent weights packed once (the native inference path,
// infer_net.cpp): internal to the CPU backend. crnn_cpu_lstm_forward_f32 is lstm_forward with
// panels NULL, packing W_hh into its workspace on every call.
#pragma once

#include <stdint.h>

#include "crnn/lstm.h"

namespace crnn {
namespace cpu {

// Floats of one layer's W_hh panels (D directions of hidden size H) in the recurrence's form.
int64_t lstm_panels_size(int64_t H, int64_t D);
// Which form lstm_pack_layer writes now (float32 or bfloat16 pair words: the matmul precision);
// panels packed in another form must be packed again.
int lstm_panel_form();
// Packs layer `layer`'s W_hh panels of every direction (w->w_hh[layer * D + d]) into panels.
void lstm_pack_layer(float *panels, const crnn_lstm_weights_f32 *w, int64_t layer, int64_t D,
                     int64_t H);
// crnn_cpu_lstm_forward_f32 reading layer l's panels from panels[l] (lstm_pack_layer, in the
// current form) instead of packing them; panels NULL packs.
crnn_status_t lstm_forward(float *y, float *h_n, float *c_n, float *reserve, const float *x,
                           const float *h0, const float *c0, const int32_t *seq_length,
                           const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d, void *workspace,
                           size_t workspace_bytes, const float *const *panels);

}  // namespace cpu
}  // namespace crnn
