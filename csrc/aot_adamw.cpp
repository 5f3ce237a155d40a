// MindSpore aot entry point of the multi-tensor AdamW step (a thin adapter over crnn/adamw.h).
//
// crnn_aot_adamw (CPU only) inputs, for n tensors, all float32:
//   [0, n) params, [n, 2n) m, [2n, 3n) v (updated in place: the MindSpore op is marked
//   side_effect_mem, see crnn_fast/ops/adamw.py), [3n, 4n) grads (same shapes),
//   [4n, 5n) lr per tensor and [5n, 6n) weight_decay per tensor (scalars: () or (1,)),
//   6n beta1, 6n + 1 beta2, 6n + 2 eps (scalars);
// output 6n + 3: (1,) float32, set to 0 (the op's result that orders it in the graph).
#include "aot_util.h"
#include "crnn/adamw.h"

namespace {

float scalar(const crnn::aot::Args &a, int i, const char *name) {
  using namespace crnn::aot;
  require(std::string(a.dtypes[i]) == "float32" && a.numel(i) == 1,
          std::string(name) + " (tensor " + std::to_string(i) + ") must be a float32 scalar, got " +
              a.dtypes[i] + " " + a.shape(i));
  return *a.ptr<float>(i);
}

int adamw_entry(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                const char **dtypes, void *stream) {
  using namespace crnn::aot;
  return guarded("adamw", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    require(!a.on_device(), "adamw runs on the CPU only");
    require(a.n >= 4 && (a.n - 4) % 6 == 0,
            "expected 6 n + 4 tensors (n params, m, v, grads, lrs, weight decays; beta1, beta2, "
            "eps; the output), got " +
                std::to_string(a.n));
    const int n = (a.n - 4) / 6;
    std::vector<crnn_adamw_tensor> ts(static_cast<size_t>(n));
    for (int k = 0; k < n; ++k) {
      const std::string shape = a.shape(k);
      for (int part = 0; part < 4; ++part) {
        static const char *names[] = {"param", "m", "v", "grad"};
        const int i = part * n + k;
        require(std::string(a.dtypes[i]) == "float32" && a.shape(i) == shape,
                std::string(names[part]) + " " + std::to_string(k) + " must be float32 " + shape +
                    ", got " + a.dtypes[i] + " " + a.shape(i));
      }
      ts[k] = {a.ptr<float>(k),
               a.ptr<float>(n + k),
               a.ptr<float>(2 * n + k),
               a.ptr<float>(3 * n + k),
               a.numel(k),
               scalar(a, 4 * n + k, "lr"),
               scalar(a, 5 * n + k, "weight_decay")};
    }
    crnn_adamw_options opt{};
    opt.beta1 = scalar(a, 6 * n, "beta1");
    opt.beta2 = scalar(a, 6 * n + 1, "beta2");
    opt.eps = scalar(a, 6 * n + 2, "eps");
    a.place(opt);
    a.expect(6 * n + 3, "out", "float32", 1, "(1,)");
    *a.ptr<float>(6 * n + 3) = 0.0f;
    check_status(crnn_adamw_f32(ts.data(), n, &opt), -1, "AdamW step");
  });
}

}  // namespace

CRNN_AOT_ENTRY_ON(adamw, , CRNN_DEVICE_CPU, adamw_entry)
