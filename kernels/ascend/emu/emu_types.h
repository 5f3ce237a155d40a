// Host model of the Ascend C API, part 1: qualifiers, enums, the per-core context and the
// violation report. See kernel_operator.h for what this model is (and is not).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../../common/narrow_float.h"

// ---- Device qualifiers: empty on the host ---------------------------------------------------
#define __aicore__
#define __global__
#define __gm__
#define __ubuf__
#define GM_ADDR uint8_t *

// ---- Pipes and events (global names, as the kernels spell them unqualified) -----------------
enum pipe_t { PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, PIPE_ALL, PIPE_FIX };
enum event_t {
  EVENT_ID0,
  EVENT_ID1,
  EVENT_ID2,
  EVENT_ID3,
  EVENT_ID4,
  EVENT_ID5,
  EVENT_ID6,
  EVENT_ID7
};

// ---- 16-bit floating-point types (global names, as in Ascend C) ----------------------------
// Storage types in the model: the 2-byte bit pattern (IEEE binary16 / bfloat16). Vector code
// converts with Cast (emu_vector.h); the explicit float conversions (widening exact, narrowing to
// nearest even: kernels/common/narrow_float.h) are for scalar code and tests.
struct half {
  uint16_t bits;
  half() = default;
  explicit half(float f) : bits(crnn::float_to_half_bits(f)) {}
  explicit operator float() const { return crnn::half_bits_to_float(bits); }
};
struct bfloat16_t {
  uint16_t bits;
  bfloat16_t() = default;
  explicit bfloat16_t(float f) : bits(crnn::float_to_bf16_bits(f)) {}
  explicit operator float() const { return crnn::bf16_bits_to_float(bits); }
};
static_assert(sizeof(half) == 2 && sizeof(bfloat16_t) == 2, "16-bit storage");

namespace AscendC {

// Logical buffer positions; the model implements the Unified Buffer (UB) ones only.
enum class TPosition : uint8_t {
  GM,
  A1,
  A2,
  B1,
  B2,
  C1,
  C2,
  CO1,
  CO2,
  VECIN,
  VECOUT,
  VECCALC,
  LCM = VECCALC,
  SPM,
  SHM,
  TSCM,
  MAX,
};
using QuePosition = TPosition;

enum class HardEvent : uint8_t {
  MTE2_MTE1,
  MTE1_MTE2,
  MTE1_M,
  M_MTE1,
  MTE2_V,
  V_MTE2,
  MTE3_V,
  V_MTE3,
  M_V,
  V_M,
  V_V,
  MTE3_MTE1,
  MTE1_MTE3,
  MTE1_V,
  MTE2_M,
  M_MTE2,
  V_MTE1,
  M_FIX,
  FIX_M,
  MTE3_MTE2,
  MTE2_MTE3,
  S_V,
  V_S,
  S_MTE2,
  MTE2_S,
  S_MTE3,
  MTE3_S,
  MTE2_FIX,
  FIX_MTE2,
  FIX_S,
  M_S,
  FIX_MTE3,
  MTE1_FIX,
  FIX_MTE1,
  FIX_FIX,
  MAX,
};

constexpr uint32_t ONE_BLK_SIZE = 32;           // bytes of one DataBlock
constexpr uint32_t ONE_REPEAT_BYTE_SIZE = 256;  // bytes one vector repeat processes

enum class CMPMODE : uint8_t { LT = 0, GT, EQ, LE, GE, NE };
enum class SELMODE : uint8_t {
  VSEL_CMPMASK_SPR = 0,
  VSEL_TENSOR_SCALAR_MODE,
  VSEL_TENSOR_TENSOR_MODE
};
enum class RoundMode : uint8_t {
  CAST_NONE = 0,
  CAST_RINT,
  CAST_FLOOR,
  CAST_CEIL,
  CAST_ROUND,
  CAST_TRUNC,
  CAST_ODD  // float -> half only
};

}  // namespace AscendC

namespace crnn {
namespace ascend_emu {

// UB capacity of one AI Vector core of an Atlas A2 (910B) / A3: 192 KiB.
constexpr uint32_t kUbBytes910B = 192 * 1024;
constexpr uint32_t kBlockBytes = 32;    // one DataBlock: the UB alignment unit
constexpr uint32_t kRepeatBytes = 256;  // one vector repeat
constexpr int kMaxHeldPerPosition = 8;  // AllocTensor'd tensors held per TPosition (A2 limit)

// A broken rule of the API, thrown inside the core that broke it; the launch returns its
// message prefixed by the core ("core 3: DataCopy: 30 bytes is not a multiple of 32").
struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown in the other cores when one core failed: unwinds a core waiting in SyncAll (or
// reaching it later) so that the launch never hangs. Not an error of its own.
struct Released {};

[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct LaunchState;
struct QueueBase;

// What one emulated core owns; thread-local while the core runs.
struct CoreContext {
  int64_t block_idx = 0;
  int64_t block_num = 1;
  uint8_t *ub = nullptr;  // the core's UB arena (32-byte aligned), ub_bytes long
  uint32_t ub_bytes = 0;
  LaunchState *launch = nullptr;
  void *pipe = nullptr;         // the live TPipe
  uint32_t ub_used = 0;         // bytes handed out by TPipe::InitBuffer
  int held[3] = {0, 0, 0};      // tensors held per VECIN / VECOUT / VECCALC
  QueueBase *queues = nullptr;  // intrusive list of live queues and TBufs
  int atomic_type = 0;          // 0: none, else the type tag of SetAtomicAdd<T>
  const char *atomic_name = nullptr;
  std::string deferred;    // a violation found where it cannot be thrown
  int matmul_objects = 0;  // Matmul objects registered (REGIST_MATMUL_OBJ), at most 4
};

// The running core's context; a Violation outside crnn::ascend_emu::launch.
CoreContext &core();
CoreContext *core_or_null();
// Records a violation found in a destructor (it cannot throw); the launch reports it.
void defer_violation(const std::string &msg);

const char *position_name(AscendC::TPosition pos);

// A small type tag for messages and the atomic-add type check.
template <typename T>
struct TypeTag {
  static constexpr int value = 0;
  static constexpr const char *name = "another type";
};
#define CRNN_ASCEND_EMU_TYPE(T, id)         \
  template <>                               \
  struct TypeTag<T> {                       \
    static constexpr int value = id;        \
    static constexpr const char *name = #T; \
  };
CRNN_ASCEND_EMU_TYPE(float, 1)
CRNN_ASCEND_EMU_TYPE(int32_t, 2)
CRNN_ASCEND_EMU_TYPE(uint32_t, 3)
CRNN_ASCEND_EMU_TYPE(int16_t, 4)
CRNN_ASCEND_EMU_TYPE(uint16_t, 5)
CRNN_ASCEND_EMU_TYPE(uint8_t, 6)
CRNN_ASCEND_EMU_TYPE(int8_t, 7)
CRNN_ASCEND_EMU_TYPE(int64_t, 8)
CRNN_ASCEND_EMU_TYPE(uint64_t, 9)
CRNN_ASCEND_EMU_TYPE(half, 10)
CRNN_ASCEND_EMU_TYPE(bfloat16_t, 11)
#undef CRNN_ASCEND_EMU_TYPE

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

// Index of this core in [0, GetBlockNum()) and the launch's block dimension.
inline int64_t GetBlockIdx() {
  return crnn::ascend_emu::core().block_idx;
}
inline int64_t GetBlockNum() {
  return crnn::ascend_emu::core().block_num;
}
inline int64_t GetSubBlockIdx() {
  return 0;
}  // vector-only kernels: one AIV per block
inline int64_t GetTaskRatio() {
  return 1;
}

}  // namespace AscendC
