// Host model of the Ascend C API, part 2: LocalTensor (a checked view into a core's UB arena)
// and GlobalTensor (a view of host memory standing in for GM).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "emu_types.h"

namespace crnn {
namespace ascend_emu {

enum class SlotState : uint8_t { Free, Allocated, Queued, Dequeued, Fixed };

// One UB buffer handed out by TPipe::InitBuffer: a queue buffer or a TBuf.
struct Slot {
  uint8_t *base = nullptr;  // in the core's UB arena, 32-byte aligned
  uint32_t bytes = 0;       // the buffer length, rounded up to 32 bytes
  uint32_t gen = 0;         // bumped by FreeTensor: a stale view no longer matches
  SlotState state = SlotState::Free;
  QueueBase *owner = nullptr;
};

// The type-independent part of a LocalTensor.
struct LocalView {
  Slot *slot = nullptr;
  uint32_t gen = 0;
  uint32_t off = 0;  // bytes from slot->base
  uint32_t len = 0;  // bytes of the view
};

// Checks that `v` is usable now (allocated, not freed, not in flight in a queue), starts at an
// `align`-byte boundary and holds `count` elements of `elem` bytes; returns its UB address.
uint8_t *ub_span(const LocalView &v, uint64_t count, uint32_t elem, uint32_t align, const char *api,
                 const char *operand);
// The same liveness check for a scalar access at byte offset `at` of `elem` bytes.
uint8_t *ub_scalar(const LocalView &v, uint64_t index, uint32_t elem, const char *api);
// Fails when [a, a+abytes) and [b, b+bbytes) overlap other than by starting at one address.
void check_overlap(const uint8_t *a, uint64_t abytes, const uint8_t *b, uint64_t bbytes,
                   const char *api, const char *an, const char *bn, bool allow_same_start);
// Checks a GM range [p, p + count) of a GlobalTensor with `size` elements (size_known).
void gm_check(const void *p, uint64_t count, uint64_t size, bool size_known, uint32_t elem,
              uint32_t align, const char *api);

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

// A view of part of a UB buffer. Copies are handles to the same memory (as on the device).
// Every access is checked against the view's bounds and the buffer's queue state.
template <typename T>
class LocalTensor : public crnn::ascend_emu::LocalView {
 public:
  using PrimType = T;
  LocalTensor() = default;
  explicit LocalTensor(const crnn::ascend_emu::LocalView &v) : LocalView(v) {}

  uint32_t GetSize() const { return len / sizeof(T); }
  uint32_t GetLength() const { return len; }  // bytes
  // Re-sizes the view (elements); it must stay inside its buffer.
  void SetSize(const uint32_t size) {
    crnn::ascend_emu::ub_span(*this, 0, sizeof(T), 1, "LocalTensor::SetSize", "tensor");
    if (uint64_t(size) * sizeof(T) > slot->bytes - off) {
      crnn::ascend_emu::fail("LocalTensor::SetSize: %u elements exceed the buffer's %u", size,
                             static_cast<uint32_t>((slot->bytes - off) / sizeof(T)));
    }
    len = size * sizeof(T);
  }
  // A reference to element `offset` (checked when taken, as GetValue / SetValue).
  T &operator()(const uint32_t offset) const {
    return *reinterpret_cast<T *>(
        crnn::ascend_emu::ub_scalar(*this, offset, sizeof(T), "LocalTensor::operator()"));
  }

  T GetValue(const uint32_t index) const {
    T value;
    std::memcpy(&value,
                crnn::ascend_emu::ub_scalar(*this, index, sizeof(T), "LocalTensor::GetValue"),
                sizeof(T));
    return value;
  }
  void SetValue(const uint32_t index, const T value) const {
    std::memcpy(crnn::ascend_emu::ub_scalar(*this, index, sizeof(T), "LocalTensor::SetValue"),
                &value, sizeof(T));
  }

  // The view from element `offset` to the end.
  LocalTensor operator[](const uint32_t offset) const {
    crnn::ascend_emu::ub_span(*this, 0, sizeof(T), 1, "LocalTensor::operator[]", "tensor");
    if (offset > GetSize()) {
      crnn::ascend_emu::fail(
          "LocalTensor::operator[]: offset %u is beyond the tensor's %u elements", offset,
          GetSize());
    }
    LocalView v = *this;
    v.off += offset * sizeof(T);
    v.len -= offset * sizeof(T);
    return LocalTensor(v);
  }

  template <typename U>
  LocalTensor<U> ReinterpretCast() const {
    return LocalTensor<U>(static_cast<const LocalView &>(*this));
  }
};

// A view of GM. Without a size (SetGlobalBuffer(ptr)) only the alignment is checked.
template <typename T>
class GlobalTensor {
 public:
  using PrimType = T;

  void SetGlobalBuffer(__gm__ T *buffer, uint64_t bufferSize) {
    ptr_ = buffer;
    size_ = bufferSize;
    sized_ = true;
  }
  void SetGlobalBuffer(__gm__ T *buffer) {
    ptr_ = buffer;
    size_ = 0;
    sized_ = false;
  }

  GlobalTensor operator[](const uint64_t offset) const {
    check(offset, 0, "GlobalTensor::operator[]");
    GlobalTensor g = *this;
    g.ptr_ += offset;
    if (sized_) g.size_ -= offset;
    return g;
  }
  T GetValue(const uint64_t index) const {
    check(index, 1, "GlobalTensor::GetValue");
    return ptr_[index];
  }
  void SetValue(const uint64_t index, const T value) const {
    check(index, 1, "GlobalTensor::SetValue");
    ptr_[index] = value;
  }
  uint64_t GetSize() const { return size_; }
  __gm__ T *GetPhyAddr() const { return ptr_; }
  __gm__ T *GetPhyAddr(const uint64_t offset) const { return ptr_ + offset; }

  // Model internals, for the data-movement APIs.
  T *checked(uint64_t count, uint32_t align, const char *api) const {
    crnn::ascend_emu::gm_check(ptr_, count, size_, sized_, sizeof(T), align, api);
    return ptr_;
  }

 private:
  void check(uint64_t index, uint64_t count, const char *api) const {
    if (ptr_ == nullptr) crnn::ascend_emu::fail("%s: GlobalTensor without SetGlobalBuffer", api);
    if (sized_ && index + count > size_) {
      crnn::ascend_emu::fail("%s: index %llu is beyond the GlobalTensor's %llu elements", api,
                             (unsigned long long)index, (unsigned long long)size_);
    }
  }

  T *ptr_ = nullptr;
  uint64_t size_ = 0;
  bool sized_ = false;
};

}  // namespace AscendC
