/* The kernel library through its C API from a C program (no Python, no C++ in the caller):
 * every public header compiles as C, a call runs on the CPU with zero-initialised options, and
 * the dispatch answers NOT_SUPPORTED for a backend that was not compiled in and INVALID_VALUE
 * for an unknown device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crnn/crnn.h"

static int failures = 0;
#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

/* T = 1, B = 1, C = 2 uniform logits, label {1}, blank 0: loss = log 2, grad = (0.5, -0.5). */
static void ctc_loss_on_cpu(void) {
  const float logits[2] = {0.0f, 0.0f};
  const int32_t label[1] = {1}, in_len[1] = {1}, lab_len[1] = {1};
  float loss = NAN, grad[2] = {NAN, NAN};
  crnn_ctc_loss_options opt;
  memset(&opt, 0, sizeof opt); /* device 0: the CPU */
  const size_t ws = crnn_ctc_loss_workspace_size(1, 1, 2, 1, sizeof(float), &opt);
  void *buf = malloc(ws);
  EXPECT(ws > 0 && buf != NULL);
  EXPECT(crnn_ctc_loss_f32(&loss, grad, logits, label, in_len, lab_len, 1, 1, 2, 1, buf, ws,
                           &opt) == CRNN_STATUS_SUCCESS);
  EXPECT(fabsf(loss - logf(2.0f)) < 1e-6f);
  EXPECT(fabsf(grad[0] - 0.5f) < 1e-6f && fabsf(grad[1] + 0.5f) < 1e-6f);
  free(buf);
}

/* The same in float16 and bfloat16 logits (bit patterns of 0): grad +-0.5 exactly. */
static void ctc_loss_narrow_on_cpu(void) {
  const uint16_t logits[2] = {0, 0};
  const int32_t label[1] = {1}, in_len[1] = {1}, lab_len[1] = {1};
  crnn_ctc_loss_options opt;
  memset(&opt, 0, sizeof opt);
  const size_t ws = crnn_ctc_loss_workspace_size(1, 1, 2, 1, 2, &opt);
  void *buf = malloc(ws);
  EXPECT(ws > 0 && buf != NULL);
  for (int bf = 0; bf < 2; ++bf) {
    float loss = NAN;
    uint16_t grad[2] = {0x7e00, 0x7e00};
    const crnn_status_t st = bf ? crnn_ctc_loss_bf16(&loss, grad, logits, label, in_len, lab_len, 1,
                                                     1, 2, 1, buf, ws, &opt)
                                : crnn_ctc_loss_f16(&loss, grad, logits, label, in_len, lab_len, 1,
                                                    1, 2, 1, buf, ws, &opt);
    EXPECT(st == CRNN_STATUS_SUCCESS);
    EXPECT(fabsf(loss - logf(2.0f)) < 1e-6f);
    EXPECT(grad[0] == (bf ? 0x3f00 : 0x3800) && grad[1] == (bf ? 0xbf00 : 0xb800));
  }
  free(buf);
}

/* Every op: a device without a compiled backend, and an unknown device value. */
static void devices_not_compiled(void) {
  const int32_t devices[2] = {CRNN_DEVICE_ASCEND, 99};
  EXPECT(crnn_device_compiled(CRNN_DEVICE_CPU) == 1);
  EXPECT(crnn_device_compiled(CRNN_DEVICE_ASCEND) == 0);
  EXPECT(crnn_device_compiled(99) == 0);
  for (int i = 0; i < 2; ++i) {
    const crnn_status_t want =
        devices[i] == 99 ? CRNN_STATUS_INVALID_VALUE : CRNN_STATUS_NOT_SUPPORTED;
    int32_t err = 7, frame = 7;
    crnn_ctc_loss_options lo;
    memset(&lo, 0, sizeof lo);
    lo.device = devices[i];
    lo.error_index = &err;
    lo.error_frame = &frame;
    EXPECT(crnn_ctc_loss_workspace_size(1, 1, 2, 1, 4, &lo) == 0);
    EXPECT(crnn_ctc_loss_f32(NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 2, 1, NULL, 0, &lo) == want);
    EXPECT(crnn_ctc_loss_f64(NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 2, 1, NULL, 0, &lo) == want);
    EXPECT(crnn_ctc_loss_f16(NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 2, 1, NULL, 0, &lo) == want);
    EXPECT(crnn_ctc_loss_bf16(NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 2, 1, NULL, 0, &lo) ==
           want);
    EXPECT(err == -1 && frame == -1);
    crnn_ctc_decode_options dopt;
    memset(&dopt, 0, sizeof dopt);
    dopt.device = devices[i];
    EXPECT(crnn_ctc_greedy_workspace_size(1, 1, 2, &dopt) == 0);
    EXPECT(crnn_ctc_greedy_f32(NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 2, NULL, 0, &dopt) ==
           want);
    EXPECT(crnn_ctc_beam_search_workspace_size(1, 1, 2, &dopt) == 0);
    EXPECT(crnn_ctc_beam_search_f32(NULL, NULL, NULL, NULL, NULL, 1, 1, 2, NULL, 0, &dopt) == want);
    crnn_lstm_desc ld;
    memset(&ld, 0, sizeof ld);
    ld.device = devices[i];
    EXPECT(crnn_lstm_forward_workspace_size(&ld) == 0);
    EXPECT(crnn_lstm_backward_workspace_size(&ld) == 0);
    EXPECT(crnn_lstm_forward_f32(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &ld, NULL,
                                 0) == want);
    EXPECT(crnn_lstm_backward_f32(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                  NULL, NULL, NULL, NULL, NULL, NULL, &ld, NULL, 0) == want);
    crnn_conv2d_desc cd;
    memset(&cd, 0, sizeof cd);
    cd.device = devices[i];
    EXPECT(crnn_conv2d_forward_workspace_size(&cd) == 0);
    EXPECT(crnn_conv2d_backward_workspace_size(&cd) == 0);
    EXPECT(crnn_conv2d_forward_f32(NULL, NULL, NULL, NULL, &cd, NULL, 0) == want);
    EXPECT(crnn_conv2d_backward_f32(NULL, NULL, NULL, NULL, NULL, NULL, &cd, NULL, 0) == want);
    crnn_conv_block_desc bd;
    memset(&bd, 0, sizeof bd);
    bd.conv.device = devices[i];
    EXPECT(crnn_conv_block_forward_workspace_size(&bd) == 0);
    EXPECT(crnn_conv_block_backward_workspace_size(&bd) == 0);
    EXPECT(crnn_conv_block_forward_f32(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                       NULL, NULL, &bd, NULL, 0) == want);
    EXPECT(crnn_conv_block_backward_f32(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                        NULL, NULL, NULL, NULL, NULL, &bd, NULL, 0) == want);
    crnn_adamw_options ao;
    memset(&ao, 0, sizeof ao);
    ao.device = devices[i];
    EXPECT(crnn_adamw_f32(NULL, 0, &ao) == want);
  }
}

/* crnn/device_memory.h: a round trip through the memory of every host-memory device compiled
   in (CPU, CUDA_EMU); CUDA without its backend and unknown devices are refused. */
static void device_memory(void) {
  const int32_t host_devices[] = {CRNN_DEVICE_CPU, CRNN_DEVICE_CUDA_EMU, CRNN_DEVICE_ASCEND_EMU};
  for (int i = 0; i < 3; ++i) {
    const int32_t dev = host_devices[i];
    if (!crnn_device_compiled(dev)) continue;
    int32_t src[5] = {1, 2, 3, 4, 5}, back[5] = {0, 0, 0, 0, 0};
    void *p = NULL;
    EXPECT(crnn_device_malloc(dev, &p, sizeof src) == CRNN_STATUS_SUCCESS && p != NULL);
    EXPECT(((uintptr_t)p) % 256 == 0);
    EXPECT(crnn_device_memcpy(dev, p, src, sizeof src, NULL) == CRNN_STATUS_SUCCESS);
    EXPECT(crnn_device_memcpy(dev, back, p, sizeof src, NULL) == CRNN_STATUS_SUCCESS);
    EXPECT(crnn_device_stream_sync(dev, NULL) == CRNN_STATUS_SUCCESS);
    EXPECT(memcmp(src, back, sizeof src) == 0);
    EXPECT(crnn_device_memcpy(dev, NULL, src, 4, NULL) == CRNN_STATUS_INVALID_VALUE);
    EXPECT(crnn_device_free(dev, p) == CRNN_STATUS_SUCCESS);
    EXPECT(crnn_device_malloc(dev, &p, 0) == CRNN_STATUS_SUCCESS && p == NULL);
    EXPECT(crnn_device_malloc(dev, NULL, 4) == CRNN_STATUS_INVALID_VALUE);
  }
  void *q = &q;
  if (!crnn_device_compiled(CRNN_DEVICE_CUDA)) {
    EXPECT(crnn_device_malloc(CRNN_DEVICE_CUDA, &q, 4) == CRNN_STATUS_NOT_SUPPORTED && !q);
    EXPECT(crnn_device_stream_sync(CRNN_DEVICE_CUDA, NULL) == CRNN_STATUS_NOT_SUPPORTED);
  }
  EXPECT(crnn_device_memcpy(77, &q, &q, sizeof q, NULL) == CRNN_STATUS_INVALID_VALUE);
  EXPECT(crnn_device_free(-1, NULL) == CRNN_STATUS_INVALID_VALUE);
}

/* ascend-emu routes the ops that have an Ascend C kernel (CTC loss, greedy, LSTM): their
   argument checks answer; the prefix beam search answers NOT_SUPPORTED with the error outputs
   cleared. */
static void ascend_emu_routes(void) {
  if (!crnn_device_compiled(CRNN_DEVICE_ASCEND_EMU)) return;
  int32_t err = 7, frame = 7;
  crnn_ctc_loss_options lo;
  memset(&lo, 0, sizeof lo);
  lo.device = CRNN_DEVICE_ASCEND_EMU;
  lo.error_index = &err;
  lo.error_frame = &frame;
  EXPECT(crnn_ctc_loss_workspace_size(1, 1, 2, 1, 4, &lo) > 0);
  EXPECT(crnn_ctc_loss_f32(NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 2, 1, NULL, 0, &lo) ==
         CRNN_STATUS_INVALID_VALUE);
  EXPECT(err == -1 && frame == -1);
  crnn_lstm_desc ld;
  memset(&ld, 0, sizeof ld);
  ld.device = CRNN_DEVICE_ASCEND_EMU;
  EXPECT(crnn_lstm_forward_f32(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &ld, NULL,
                               0) == CRNN_STATUS_INVALID_VALUE);
  crnn_ctc_decode_options d;
  memset(&d, 0, sizeof d);
  d.device = CRNN_DEVICE_ASCEND_EMU;
  d.error_index = &err;
  d.error_frame = &frame;
  EXPECT(crnn_ctc_greedy_workspace_size(2, 1, 3, &d) > 0);
  EXPECT(crnn_ctc_beam_search_workspace_size(2, 1, 3, &d) == 0);
  err = frame = 7;
  EXPECT(crnn_ctc_beam_search_f32(NULL, NULL, NULL, NULL, NULL, 2, 1, 3, NULL, 0, &d) ==
         CRNN_STATUS_NOT_SUPPORTED);
  EXPECT(err == -1 && frame == -1);
}

int main(void) {
  ctc_loss_on_cpu();
  ctc_loss_narrow_on_cpu();
  devices_not_compiled();
  device_memory();
  ascend_emu_routes();
  if (failures) return 1;
  printf("test_c_api: OK (%s)\n", crnn_status_string(CRNN_STATUS_SUCCESS));
  return 0;
}
