// Entry points of the CUDA backend whose kernels have not landed yet (issue 15 in progress: the
// prefix beam search):
// each answers NOT_SUPPORTED, and the workspace queries 0, so the dispatch links and a caller
// learns it cannot run the op on this device. Remove an entry here when its kernel lands.
#include "cuda_common.cuh"
#include "cuda_kernels.h"

extern "C" {

size_t CRNN_CUDA_ENTRY(ctc_beam_search_workspace_size)(int64_t, int64_t, int64_t,
                                                       const crnn_ctc_decode_options *) {
  return 0;
}
crnn_status_t CRNN_CUDA_ENTRY(ctc_beam_search_f32)(int32_t *, int32_t *, double *, const float *,
                                                   const int32_t *, int64_t, int64_t, int64_t,
                                                   void *, size_t,
                                                   const crnn_ctc_decode_options *) {
  return CRNN_STATUS_NOT_SUPPORTED;
}
}  // extern "C"
