// The Ascend C kernels' entry functions (kernels/ascend/op_kernel/*.cpp) as the host drivers on
// our API model call them. Each takes its op's inputs, then outputs (the OpDef's order in
// kernels/ascend/op_host), then workspace and tiling, as CANN's generated launch code does;
// tests/ascend/test_ascend_op_host.cpp checks each arity against its OpDef.
#pragma once

#include <stdint.h>

extern "C" {
// CrnnCtcGreedy: scores, input_lengths, config -> ids, lengths, probs, frames, error.
void crnn_ctc_greedy(uint8_t *scores, uint8_t *input_lengths, uint8_t *config, uint8_t *ids,
                     uint8_t *lengths, uint8_t *probs, uint8_t *frames, uint8_t *error,
                     uint8_t *workspace, uint8_t *tiling);
// CrnnCtcLoss: logits, labels, input_lengths, label_lengths, config -> loss, grad, error; on
// the API model one entry per logits type (float, half, bfloat16_t).
void crnn_ctc_loss(uint8_t *logits, uint8_t *labels, uint8_t *input_lengths, uint8_t *label_lengths,
                   uint8_t *config, uint8_t *loss, uint8_t *grad, uint8_t *error,
                   uint8_t *workspace, uint8_t *tiling);
void crnn_ctc_loss_half(uint8_t *logits, uint8_t *labels, uint8_t *input_lengths,
                        uint8_t *label_lengths, uint8_t *config, uint8_t *loss, uint8_t *grad,
                        uint8_t *error, uint8_t *workspace, uint8_t *tiling);
void crnn_ctc_loss_bfloat16(uint8_t *logits, uint8_t *labels, uint8_t *input_lengths,
                            uint8_t *label_lengths, uint8_t *config, uint8_t *loss, uint8_t *grad,
                            uint8_t *error, uint8_t *workspace, uint8_t *tiling);
// CrnnLstmForward: x, h0, c0, seq_length, config, weights -> y, h_n, c_n, reserve, error.
void crnn_lstm_forward(uint8_t *x, uint8_t *h0, uint8_t *c0, uint8_t *seq_length, uint8_t *config,
                       uint8_t *weights, uint8_t *y, uint8_t *h_n, uint8_t *c_n, uint8_t *reserve,
                       uint8_t *error, uint8_t *workspace, uint8_t *tiling);
// CrnnLstmForwardInfer: x, h0, c0, seq_length, config, weights -> y, h_n, c_n, error.
void crnn_lstm_forward_infer(uint8_t *x, uint8_t *h0, uint8_t *c0, uint8_t *seq_length,
                             uint8_t *config, uint8_t *weights, uint8_t *y, uint8_t *h_n,
                             uint8_t *c_n, uint8_t *error, uint8_t *workspace, uint8_t *tiling);
// CrnnLstmBackward: x, h0, c0, seq_length, config, weights, y, reserve, dy, dh_n, dc_n
// -> dx, dh0, dc0, dweights, error.
void crnn_lstm_backward(uint8_t *x, uint8_t *h0, uint8_t *c0, uint8_t *seq_length, uint8_t *config,
                        uint8_t *weights, uint8_t *y, uint8_t *reserve, uint8_t *dy, uint8_t *dh_n,
                        uint8_t *dc_n, uint8_t *dx, uint8_t *dh0, uint8_t *dc0, uint8_t *dweights,
                        uint8_t *error, uint8_t *workspace, uint8_t *tiling);
}
