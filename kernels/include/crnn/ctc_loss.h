// Fused CTC loss + gradient (crnn_fast kernel C API; backends: CPU, CUDA).
//
// One pass per sample computes the log-softmax over classes, alpha, beta, the negative
// log-likelihood and the gradient w.r.t. the raw logits; samples run in parallel (thread_pool.h).
//
// Layouts (dense, row-major):
//   logits        (T, B, C)  raw scores; log-softmax is applied inside
//   labels        (B, S)     int32, padded: only labels[b, :label_lengths[b]] are read
//   input_lengths (B)        int32 in [0, T]; frames t >= input_lengths[b] are ignored
//   label_lengths (B)        int32 in [0, S]
//   loss          (B)        out: -log p(label | logits); +inf (or 0 with zero_infinity)
//                            when the label needs more frames than input_lengths[b]
//   grad          (T, B, C)  out, may be NULL (loss only): d loss[b] / d logits[t, b, :];
//                            zero for t >= input_lengths[b] and for infeasible samples
// Logits may hold -inf (probability 0, e.g. an underflowed log-softmax): such a class gets
// gradient 0, and a sample whose label can only be emitted through -inf entries is infeasible.
// Status: INVALID_VALUE for bad sizes/lengths/labels (label == blank or outside [0, C)),
// NONFINITE_INPUT for NaN or +inf among the frames read, NEG_INF_FRAME for a frame read that is
// -inf for every class; error_index gets the batch index, error_frame the frame (value errors).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Options of the CTC loss. Zero-initialise, then set `blank`.
typedef struct crnn_ctc_loss_options {
  int32_t blank;          // blank class index, 0 <= blank < C (MindOCR: C-1)
  int32_t zero_infinity;  // infeasible sample: loss 0 instead of +inf (grad is 0 either way)
  int32_t num_threads;    // <= 0: the CPU pool default (max_threads)
  int32_t *error_index;   // optional out: batch index of the first failing sample, else -1
  int32_t *error_frame;   // optional out: its failing frame (value errors), else -1
  int32_t device;         // crnn_device_t (0: CPU)
  void *stream;           // device stream (NULL: default; ignored on the CPU)
} crnn_ctc_loss_options;

// Bytes of scratch the call needs; elem_bytes is the logits' element size: 2 (float16 and
// bfloat16, crnn_ctc_loss_f16 / _bf16), 4 (float32) or 8 (float64). S may be the longest label
// of the call, max(label_lengths), or anything larger (the padded width works). The CPU's
// narrow calls stage float32 copies of the logits and gradient of chunks of samples in it
// (about 32 MB, at least 4 samples per thread); the CUDA kernels read and write the narrow type
// directly (the float32 size).
size_t crnn_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S, size_t elem_bytes,
                                    const crnn_ctc_loss_options *opt);

crnn_status_t crnn_ctc_loss_f32(float *loss, float *grad, const float *logits,
                                const int32_t *labels, const int32_t *input_lengths,
                                const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                int64_t S, void *workspace, size_t workspace_bytes,
                                const crnn_ctc_loss_options *opt);

crnn_status_t crnn_ctc_loss_f64(double *loss, double *grad, const double *logits,
                                const int32_t *labels, const int32_t *input_lengths,
                                const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                int64_t S, void *workspace, size_t workspace_bytes,
                                const crnn_ctc_loss_options *opt);

// float16 / bfloat16 logits (uint16_t bit patterns, IEEE binary16 / bfloat16): the float32
// kernel's contract and value rules on the widened logits (exact), computed in float32; loss
// float32 (B), grad (T, B, C) in the logits' type, rounded to nearest even (may be NULL).
// Error bound: the float32 one on the widened logits, plus the rounding of grad (half an ulp
// of the narrow type: 2^-11 |g| for float16, 2^-8 |g| for bfloat16).
crnn_status_t crnn_ctc_loss_f16(float *loss, uint16_t *grad, const uint16_t *logits,
                                const int32_t *labels, const int32_t *input_lengths,
                                const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                int64_t S, void *workspace, size_t workspace_bytes,
                                const crnn_ctc_loss_options *opt);

crnn_status_t crnn_ctc_loss_bf16(float *loss, uint16_t *grad, const uint16_t *logits,
                                 const int32_t *labels, const int32_t *input_lengths,
                                 const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                 int64_t S, void *workspace, size_t workspace_bytes,
                                 const crnn_ctc_loss_options *opt);

// Checks lengths and labels as the kernels do (shared by the bindings for their messages).
// Returns the first bad batch index, or -1; *what names the failing argument.
int64_t crnn_ctc_check_targets(const int32_t *labels, const int32_t *input_lengths,
                               const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                               int64_t S, int32_t blank, const char **what);

#ifdef __cplusplus
}
#endif
