// Host model of the Ascend C API, the cube's `Matmul` high-level API (what
// `#include "lib/matmul_intf.h"` gives a kernel), for fp32 A / B / C / bias in GM, ND format.
//
//   C (m, n) [+]= op(A) (m, k) x op(B) (k, n) + bias (1, n)
//
// Core model: on the 910B a MIX kernel pairs one cube core (AIC) with two vector cores (AIV);
// the AIV side holds the Matmul object and the AIC serves its requests. Here the product runs
// on the calling vector core's thread when IterateAll is called, synchronously (the `sync =
// true` form), so the kernel sees C complete when IterateAll returns, as on the device.
//
// Numerics: every C element is accumulated in fp32 over k in ascending order, then the bias is
// added. The cube's own accumulation order (per baseK block into L0C) and precision are NOT
// modelled; HF32 is off (SetHF32 is not modelled). Results are independent of the tiling.
//
// Checked (a broken rule throws in the core, as every other API of the model):
// - REGIST_MATMUL_OBJ: before any TPipe::InitBuffer of the core (separated mode, 910B), at most
//   4 objects per kernel, a non-null tiling;
// - the tiling (TCubeTiling): M, N, Ka, Kb, singleCoreM/N/K, baseM/N/K >= 1; singleCore shapes
//   within the org shapes (singleCoreK <= Ka and Kb); baseM, baseN multiples of 16 and baseK a
//   multiple of 8 (a 16 x 8 fp32 fractal); L0A / L0B 64 KiB and L0C 128 KiB (with the dbL0*
//   double buffers); depthA1, depthB1, stepM, stepN, stepKa, stepKb >= 1 and A1 + B1 within the
//   512 KiB L1; isBias in {0, 1};
// - SetOrgShape / SetSingleShape / SetTail: positive, single <= org, tail <= single;
// - SetTensorA / SetTensorB: a transpose needs the MatmulType's isTrans = true;
// - IterateAll: A and B set; bias set exactly when the tiling's isBias is 1 (the tiling and the
//   kernel must agree); every GM extent (A, B, bias, C with the org shapes as the row strides)
//   inside its GlobalTensor; enAtomic 0 (write) or 1 (atomic add, with every other core).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "emu_launch.h"
#include "emu_pipe.h"
#include "emu_tensor.h"
#include "emu_types.h"
#include "kernel_tiling/kernel_tiling.h"

// Cube data formats (CANN spells them unqualified: CubeFormat::ND). The model runs ND only.
enum class CubeFormat { ND = 0, NZ, ZN, ZZ, NN, ND_ALIGN, SCALAR, VECTOR };

namespace crnn {
namespace ascend_emu {

constexpr int64_t kL0ABytes = 64 * 1024, kL0BBytes = 64 * 1024, kL0CBytes = 128 * 1024;
constexpr int64_t kL1Bytes = 512 * 1024;
constexpr int kMaxMatmulObjects = 4;

// Checks a tiling against the documented rules (fp32 operands); fails with "<api>: <what>".
void check_cube_tiling(const TCubeTiling &t, const char *api);
// REGIST_MATMUL_OBJ's rules for one object on the calling core.
void register_matmul_object(const void *pipe, const TCubeTiling *tiling);
// C = / += op(A) op(B) + bias with the row strides of the org shapes (see emu_matmul.cpp).
void matmul_f32(float *c, const float *a, const float *b, const float *bias, int64_t m, int64_t n,
                int64_t k, int64_t lda, int64_t ldb, int64_t ldc, bool trans_a, bool trans_b,
                bool atomic);

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

// The model's MIX kernels have no system workspace: the Matmul model needs none.
inline __gm__ uint8_t *GetSysWorkSpacePtr() {
  return nullptr;
}

template <TPosition POSITION, CubeFormat FORMAT, typename TYPE, bool ISTRANS = false>
struct MatmulType {
  static constexpr TPosition pos = POSITION;
  static constexpr CubeFormat format = FORMAT;
  using T = TYPE;
  static constexpr bool isTrans = ISTRANS;
};

template <class A_TYPE, class B_TYPE, class C_TYPE, class BIAS_TYPE = C_TYPE>
class Matmul {
  static_assert(A_TYPE::pos == TPosition::GM && B_TYPE::pos == TPosition::GM &&
                    C_TYPE::pos == TPosition::GM && BIAS_TYPE::pos == TPosition::GM,
                "the Matmul model implements A, B, C and bias in GM");
  static_assert(A_TYPE::format == CubeFormat::ND && B_TYPE::format == CubeFormat::ND &&
                    C_TYPE::format == CubeFormat::ND && BIAS_TYPE::format == CubeFormat::ND,
                "the Matmul model implements the ND format");
  static_assert(std::is_same<typename A_TYPE::T, float>::value &&
                    std::is_same<typename B_TYPE::T, float>::value &&
                    std::is_same<typename C_TYPE::T, float>::value &&
                    std::is_same<typename BIAS_TYPE::T, float>::value,
                "the Matmul model implements fp32 A, B, C and bias (910B: fp32 x fp32 -> fp32)");

 public:
  using SrcAT = typename A_TYPE::T;
  using SrcBT = typename B_TYPE::T;
  using DstT = typename C_TYPE::T;
  using BiasT = typename BIAS_TYPE::T;

  // Called by REGIST_MATMUL_OBJ (or by the kernel when REGIST_MATMUL_OBJ had no tiling).
  void Init(const TCubeTiling *tiling, TPipe *pipe = nullptr) {
    (void)pipe;
    if (tiling == nullptr) crnn::ascend_emu::fail("Matmul::Init: null TCubeTiling");
    crnn::ascend_emu::check_cube_tiling(*tiling, "Matmul::Init");
    t_ = *tiling;
    inited_ = true;
    org_m_ = t_.M, org_n_ = t_.N, org_ka_ = t_.Ka, org_kb_ = t_.Kb;
    single_m_ = t_.singleCoreM, single_n_ = t_.singleCoreN, single_k_ = t_.singleCoreK;
    tail_m_ = tail_n_ = tail_k_ = -1;
  }

  void SetOrgShape(int orgM, int orgN, int orgK) { SetOrgShape(orgM, orgN, orgK, orgK); }
  void SetOrgShape(int orgM, int orgN, int orgKa, int orgKb, int orgKc = 0) {
    Ready("Matmul::SetOrgShape");
    (void)orgKc;
    if (orgM < 1 || orgN < 1 || orgKa < 1 || orgKb < 1)
      crnn::ascend_emu::fail("Matmul::SetOrgShape: (%d, %d, %d, %d) must be positive", orgM, orgN,
                             orgKa, orgKb);
    org_m_ = orgM, org_n_ = orgN, org_ka_ = orgKa, org_kb_ = orgKb;
  }
  void SetSingleShape(int singleM, int singleN, int singleK) {
    Ready("Matmul::SetSingleShape");
    if (singleM < 1 || singleN < 1 || singleK < 1)
      crnn::ascend_emu::fail("Matmul::SetSingleShape: (%d, %d, %d) must be positive", singleM,
                             singleN, singleK);
    single_m_ = singleM, single_n_ = singleN, single_k_ = singleK;
    tail_m_ = tail_n_ = tail_k_ = -1;
  }
  void SetTail(int tailM = -1, int tailN = -1, int tailK = -1) {
    Ready("Matmul::SetTail");
    tail_m_ = tailM, tail_n_ = tailN, tail_k_ = tailK;
  }

  void SetTensorA(const GlobalTensor<SrcAT> &gm, bool isTransposeA = false) {
    Ready("Matmul::SetTensorA");
    if (isTransposeA && !A_TYPE::isTrans)
      crnn::ascend_emu::fail(
          "Matmul::SetTensorA: isTransposeA needs MatmulType<..., isTrans = true>");
    a_ = gm, trans_a_ = isTransposeA, has_a_ = true;
  }
  void SetTensorB(const GlobalTensor<SrcBT> &gm, bool isTransposeB = false) {
    Ready("Matmul::SetTensorB");
    if (isTransposeB && !B_TYPE::isTrans)
      crnn::ascend_emu::fail(
          "Matmul::SetTensorB: isTransposeB needs MatmulType<..., isTrans = true>");
    b_ = gm, trans_b_ = isTransposeB, has_b_ = true;
  }
  void SetBias(const GlobalTensor<BiasT> &gm) {
    Ready("Matmul::SetBias");
    bias_ = gm, has_bias_ = true;
  }
  void DisableBias() { has_bias_ = false; }

  // C (m, n) at `gm` (row stride: org N) = or += (enAtomic 1) op(A) op(B) + bias.
  template <bool sync = true>
  void IterateAll(const GlobalTensor<DstT> &gm, uint8_t enAtomic = 0) {
    static_assert(sync, "the Matmul model implements the synchronous IterateAll");
    const char *api = "Matmul::IterateAll";
    Ready(api);
    if (!has_a_ || !has_b_) crnn::ascend_emu::fail("%s: SetTensorA / SetTensorB not called", api);
    if (has_bias_ != (t_.isBias == 1))
      crnn::ascend_emu::fail("%s: the tiling has isBias = %d but SetBias was%s called", api,
                             t_.isBias, has_bias_ ? "" : " not");
    if (enAtomic > 1)
      crnn::ascend_emu::fail("%s: enAtomic %u is not modelled (0: write, 1: add)", api, enAtomic);
    if (single_m_ > org_m_ || single_n_ > org_n_ || single_k_ > org_ka_ || single_k_ > org_kb_)
      crnn::ascend_emu::fail("%s: single shape (%d, %d, %d) exceeds the org shape (%d, %d, %d, %d)",
                             api, single_m_, single_n_, single_k_, org_m_, org_n_, org_ka_,
                             org_kb_);
    const int m = Pick(tail_m_, single_m_, "tailM"), n = Pick(tail_n_, single_n_, "tailN"),
              k = Pick(tail_k_, single_k_, "tailK");
    // Row strides of the ND layouts: A (M, Ka) or, transposed, (Ka, M); B (Kb, N) or (N, Kb).
    const int64_t lda = trans_a_ ? org_m_ : org_ka_, ldb = trans_b_ ? org_kb_ : org_n_;
    const int64_t a_ext = trans_a_ ? (k - 1) * lda + m : (m - 1) * lda + k;
    const int64_t b_ext = trans_b_ ? (n - 1) * ldb + k : (k - 1) * ldb + n;
    const float *a = a_.checked(a_ext, sizeof(float), "Matmul::IterateAll (A)");
    const float *b = b_.checked(b_ext, sizeof(float), "Matmul::IterateAll (B)");
    const float *bias =
        has_bias_ ? bias_.checked(n, sizeof(float), "Matmul::IterateAll (bias)") : nullptr;
    float *c = gm.checked((m - 1) * int64_t(org_n_) + n, sizeof(float), "Matmul::IterateAll (C)");
    crnn::ascend_emu::matmul_f32(c, a, b, bias, m, n, k, lda, ldb, org_n_, trans_a_, trans_b_,
                                 enAtomic == 1);
  }

  void End() { has_a_ = has_b_ = false; }

 private:
  void Ready(const char *api) const {
    if (!inited_)
      crnn::ascend_emu::fail("%s: the Matmul object has no tiling (REGIST_MATMUL_OBJ / Init)", api);
  }
  int Pick(int tail, int single, const char *what) const {
    if (tail < 0) return single;
    if (tail == 0 || tail > single)
      crnn::ascend_emu::fail("Matmul::IterateAll: %s %d is outside [1, %d] (the single shape)",
                             what, tail, single);
    return tail;
  }

  TCubeTiling t_{};
  bool inited_ = false;
  int org_m_ = 0, org_n_ = 0, org_ka_ = 0, org_kb_ = 0;
  int single_m_ = 0, single_n_ = 0, single_k_ = 0;
  int tail_m_ = -1, tail_n_ = -1, tail_k_ = -1;
  GlobalTensor<SrcAT> a_;
  GlobalTensor<SrcBT> b_;
  GlobalTensor<BiasT> bias_;
  bool has_a_ = false, has_b_ = false, has_bias_ = false, trans_a_ = false, trans_b_ = false;
};

namespace detail {
inline void RegistMatmul(TPipe *) {}
template <class MM, class... Rest>
inline void RegistMatmul(TPipe *pipe, MM &mm, const TCubeTiling *tiling, Rest &&...rest) {
  crnn::ascend_emu::register_matmul_object(pipe, tiling);
  mm.Init(tiling, pipe);
  RegistMatmul(pipe, rest...);
}
}  // namespace detail

}  // namespace AscendC

// CANN names the Matmul types in namespace matmul too (samples spell matmul::Matmul).
namespace matmul {
using AscendC::Matmul;
using AscendC::MatmulType;
}  // namespace matmul

// REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &tiling[, mm2, &tiling2 ...]).
#define REGIST_MATMUL_OBJ(tpipe, workspace, ...)         \
  do {                                                   \
    (void)(workspace);                                   \
    AscendC::detail::RegistMatmul((tpipe), __VA_ARGS__); \
  } while (0)
