// Which backends this build of the kernel library holds (crnn/status.h).
#include "route.h"

extern "C" int crnn_device_compiled(int32_t device) {
  using crnn::dispatch::Route;
  const Route r = crnn::dispatch::route(device);
  return r == Route::cpu || r == Route::cuda || r == Route::ascend;
}
