// Host model of the Ascend C API: the cube Matmul's tiling checks and its fp32 product
// (emu_matmul.h states what is modelled and what is not).
#include "emu_matmul.h"

#include <vector>

namespace crnn {
namespace ascend_emu {

void check_cube_tiling(const TCubeTiling &t, const char *api) {
  const struct {
    const char *name;
    int32_t v;
  } positive[] = {{"M", t.M},
                  {"N", t.N},
                  {"Ka", t.Ka},
                  {"Kb", t.Kb},
                  {"singleCoreM", t.singleCoreM},
                  {"singleCoreN", t.singleCoreN},
                  {"singleCoreK", t.singleCoreK},
                  {"baseM", t.baseM},
                  {"baseN", t.baseN},
                  {"baseK", t.baseK},
                  {"depthA1", t.depthA1},
                  {"depthB1", t.depthB1},
                  {"stepM", t.stepM},
                  {"stepN", t.stepN},
                  {"stepKa", t.stepKa},
                  {"stepKb", t.stepKb}};
  for (const auto &p : positive)
    if (p.v < 1) fail("%s: TCubeTiling.%s = %d must be >= 1", api, p.name, p.v);
  if (t.singleCoreM > t.M || t.singleCoreN > t.N || t.singleCoreK > t.Ka || t.singleCoreK > t.Kb)
    fail(
        "%s: TCubeTiling single-core shape (%d, %d, %d) exceeds the org shape (M %d, N %d, Ka %d, "
        "Kb %d)",
        api, t.singleCoreM, t.singleCoreN, t.singleCoreK, t.M, t.N, t.Ka, t.Kb);
  if (t.baseM % 16 || t.baseN % 16)
    fail("%s: TCubeTiling baseM %d / baseN %d must be multiples of 16 (the cube's fractal)", api,
         t.baseM, t.baseN);
  if (t.baseK % 8)
    fail("%s: TCubeTiling baseK %d must be a multiple of 8 (fp32: 32 B)", api, t.baseK);
  const int64_t f = sizeof(float);
  const int64_t dba = t.dbL0A == 2 ? 2 : 1, dbb = t.dbL0B == 2 ? 2 : 1, dbc = t.dbL0C == 2 ? 2 : 1;
  if (dba * t.baseM * t.baseK * f > kL0ABytes)
    fail("%s: TCubeTiling baseM x baseK (%d x %d, x%lld buffers) exceeds L0A's 64 KiB", api,
         t.baseM, t.baseK, (long long)dba);
  if (dbb * t.baseN * t.baseK * f > kL0BBytes)
    fail("%s: TCubeTiling baseN x baseK (%d x %d, x%lld buffers) exceeds L0B's 64 KiB", api,
         t.baseN, t.baseK, (long long)dbb);
  if (dbc * t.baseM * t.baseN * f > kL0CBytes)
    fail("%s: TCubeTiling baseM x baseN (%d x %d, x%lld buffers) exceeds L0C's 128 KiB", api,
         t.baseM, t.baseN, (long long)dbc);
  const int64_t l1 = int64_t(t.depthA1) * t.baseM * t.baseK * f +
                     int64_t(t.depthB1) * t.baseN * t.baseK * f + (t.isBias ? t.baseN * f : 0);
  if (l1 > kL1Bytes)
    fail("%s: TCubeTiling depthA1 / depthB1 need %lld B of L1 (512 KiB)", api, (long long)l1);
  if (t.isBias != 0 && t.isBias != 1) fail("%s: TCubeTiling.isBias = %d", api, t.isBias);
}

void register_matmul_object(const void *pipe, const TCubeTiling *tiling) {
  CoreContext &ctx = core();
  if (pipe == nullptr) fail("REGIST_MATMUL_OBJ: null TPipe");
  if (tiling == nullptr) fail("REGIST_MATMUL_OBJ: null TCubeTiling");
  if (ctx.ub_used != 0)
    fail("REGIST_MATMUL_OBJ: called after TPipe::InitBuffer (separated mode needs it first)");
  if (++ctx.matmul_objects > kMaxMatmulObjects)
    fail("REGIST_MATMUL_OBJ: more than %d Matmul objects", kMaxMatmulObjects);
}

// The operands are packed (A as m x k, B as k x n, both row-major) so that the inner loop runs
// over n with every C element still summed over k in ascending order, in fp32.
void matmul_f32(float *c, const float *a, const float *b, const float *bias, int64_t m, int64_t n,
                int64_t k, int64_t lda, int64_t ldb, int64_t ldc, bool trans_a, bool trans_b,
                bool atomic) {
  std::vector<float> bp(static_cast<size_t>(k * n)), acc(static_cast<size_t>(n));
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) bp[kk * n + j] = trans_b ? b[j * ldb + kk] : b[kk * ldb + j];
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) acc[j] = 0.0f;
    for (int64_t kk = 0; kk < k; ++kk) {
      const float av = trans_a ? a[kk * lda + i] : a[i * lda + kk];
      const float *brow = &bp[kk * n];
      for (int64_t j = 0; j < n; ++j) acc[j] += av * brow[j];
    }
    if (bias)
      for (int64_t j = 0; j < n; ++j) acc[j] += bias[j];
    if (atomic)
      atomic_add_gm(c + i * ldc, acc.data(), uint64_t(n), TypeTag<float>::value);
    else
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = acc[j];
  }
}

}  // namespace ascend_emu
}  // namespace crnn
