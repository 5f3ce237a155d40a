// Host model of the Ascend C API, part 3: TPipe, TQue and TBuf over the core's UB arena, with
// the queue discipline checked: AllocTensor -> EnQue -> DeQue -> FreeTensor.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "emu_tensor.h"

namespace crnn {
namespace ascend_emu {

// What TQue and TBuf share: the buffers TPipe::InitBuffer gave them and the FIFO.
struct QueueBase {
  QueueBase(AscendC::TPosition pos, int depth, bool is_tbuf);
  ~QueueBase();  // a buffer still held here is reported (deferred: destructors cannot throw)
  QueueBase(const QueueBase &) = delete;
  QueueBase &operator=(const QueueBase &) = delete;

  const std::string &name() const { return label; }  // "TQue<VECIN, 2>" / "TBuf<VECCALC>"
  LocalView alloc();
  void enque(const LocalView &t);
  LocalView deque();
  void free(const LocalView &t);
  LocalView get(uint64_t bytes, uint64_t offset, const char *api);
  int held() const;                 // buffers allocated and not freed
  void detach(CoreContext *ctx);    // forget the buffers (TPipe::Reset / Destroy)
  std::string held_report() const;  // "" or why this queue still holds buffers

  AscendC::TPosition qpos;
  int qdepth;
  bool is_tbuf;
  std::string label;
  std::vector<Slot *> slots;                 // the buffers InitBuffer gave (none before)
  std::vector<std::unique_ptr<Slot>> owned;  // every Slot ever made: stale views stay valid
  std::deque<Slot *> fifo;
  uint32_t next = 0;  // round-robin allocation, as the buffers are used in turn
  CoreContext *ctx = nullptr;
  QueueBase *next_live = nullptr;
};

// TPipe::InitBuffer: carves `num` buffers of `len` bytes (each rounded up to 32) from the UB.
void pipe_init_buffer(QueueBase &q, uint32_t num, uint32_t len);
void pipe_open(void *pipe);   // TPipe constructor
void pipe_close(void *pipe);  // TPipe destructor
void pipe_reset();            // TPipe::Reset / Destroy

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

template <TPosition pos>
class TBuf;

// The core's memory manager; one per core at a time in this model.
class TPipe {
 public:
  TPipe() { crnn::ascend_emu::pipe_open(this); }
  ~TPipe() { crnn::ascend_emu::pipe_close(this); }
  TPipe(const TPipe &) = delete;
  TPipe &operator=(const TPipe &) = delete;

  template <class Q>
  bool InitBuffer(Q &que, uint8_t num, uint32_t len) {
    crnn::ascend_emu::pipe_init_buffer(que, num, len);
    return true;
  }
  template <TPosition pos>
  bool InitBuffer(TBuf<pos> &buf, uint32_t len) {
    crnn::ascend_emu::pipe_init_buffer(buf, 1, len);
    return true;
  }
  void Reset() { crnn::ascend_emu::pipe_reset(); }
  void Destroy() { crnn::ascend_emu::pipe_reset(); }

  // Event ids for SetFlag / WaitFlag: every operation completes at once in the model.
  template <HardEvent evt>
  int32_t FetchEventID() {
    return 0;
  }
  int32_t FetchEventID(HardEvent) { return 0; }
  template <HardEvent evt>
  int32_t AllocEventID() {
    return 0;
  }
  template <HardEvent evt>
  void ReleaseEventID(int32_t) {}
};

// A FIFO of UB buffers at a VEC position (depth: how many tensors it holds enqueued).
template <TPosition pos, int32_t depth, auto mask = 0>
class TQue : public crnn::ascend_emu::QueueBase {
  static_assert(pos == TPosition::VECIN || pos == TPosition::VECOUT || pos == TPosition::VECCALC,
                "the host model implements the UB positions VECIN / VECOUT / VECCALC only");
  static_assert(depth >= 1, "the host model implements TQue with depth >= 1 only");

 public:
  TQue() : QueueBase(pos, depth, false) {}

  template <typename T>
  LocalTensor<T> AllocTensor() {
    return LocalTensor<T>(alloc());
  }
  template <typename T>
  bool EnQue(const LocalTensor<T> &tensor) {
    enque(tensor);
    return true;
  }
  template <typename T>
  LocalTensor<T> DeQue() {
    return LocalTensor<T>(deque());
  }
  template <typename T>
  void FreeTensor(LocalTensor<T> &tensor) {
    free(tensor);
  }
  bool HasTensorInQue() const { return !fifo.empty(); }
  int32_t GetTensorCountInQue() const { return static_cast<int32_t>(fifo.size()); }
  bool VacantInQue() const { return static_cast<int32_t>(fifo.size()) < qdepth; }
  bool HasIdleBuffer() const { return held() < static_cast<int>(slots.size()); }
};

// A fixed UB scratch buffer (no queue): Get<T>() returns the whole of it.
template <TPosition pos = TPosition::VECCALC>
class TBuf : public crnn::ascend_emu::QueueBase {
  static_assert(pos == TPosition::VECIN || pos == TPosition::VECOUT || pos == TPosition::VECCALC,
                "the host model implements the UB positions VECIN / VECOUT / VECCALC only");

 public:
  TBuf() : QueueBase(pos, 0, true) {}

  template <typename T>
  LocalTensor<T> Get() {
    return LocalTensor<T>(get(UINT64_MAX, 0, "TBuf::Get"));
  }
  template <typename T>
  LocalTensor<T> Get(uint32_t len) {  // len: elements
    return LocalTensor<T>(get(uint64_t(len) * sizeof(T), 0, "TBuf::Get"));
  }
  template <typename T>
  LocalTensor<T> GetWithOffset(uint32_t size,
                               uint32_t bufOffset) {  // size: elements, offset: bytes
    return LocalTensor<T>(get(uint64_t(size) * sizeof(T), bufOffset, "TBuf::GetWithOffset"));
  }
};

// The core's TPipe (the one constructed last and still alive).
inline TPipe *GetTPipePtr() {
  return static_cast<TPipe *>(crnn::ascend_emu::core().pipe);
}

}  // namespace AscendC
