// Host model of the Ascend C API: the core context, the checks behind every UB / GM access,
// and TPipe / TQue / TBuf (see kernel_operator.h).
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "emu_launch.h"
#include "emu_pipe.h"

namespace crnn {
namespace ascend_emu {

namespace {
thread_local CoreContext *t_core = nullptr;

int position_index(AscendC::TPosition pos) {
  return pos == AscendC::TPosition::VECIN ? 0 : pos == AscendC::TPosition::VECOUT ? 1 : 2;
}
uint32_t round_up_32(uint64_t bytes) {
  return static_cast<uint32_t>((bytes + kBlockBytes - 1) / kBlockBytes * kBlockBytes);
}
}  // namespace

void fail(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  throw Violation(buf);
}

void bind_core(CoreContext *ctx) {
  t_core = ctx;
}
CoreContext *core_or_null() {
  return t_core;
}
CoreContext &core() {
  if (t_core == nullptr) {
    fail("Ascend C API called outside crnn::ascend_emu::launch (no emulated core)");
  }
  return *t_core;
}

void defer_violation(const std::string &msg) {
  if (t_core != nullptr && t_core->deferred.empty()) t_core->deferred = msg;
}

const char *position_name(AscendC::TPosition pos) {
  switch (pos) {
    case AscendC::TPosition::VECIN: return "VECIN";
    case AscendC::TPosition::VECOUT: return "VECOUT";
    case AscendC::TPosition::VECCALC: return "VECCALC";
    default: return "?";
  }
}

// ---- Checks ---------------------------------------------------------------------------------

static uint8_t *live_address(const LocalView &v, const char *api, const char *operand) {
  if (v.slot == nullptr) {
    fail("%s: %s is an empty LocalTensor (not from AllocTensor / DeQue / TBuf::Get)", api, operand);
  }
  if (v.gen != v.slot->gen || v.slot->state == SlotState::Free) {
    fail("%s: %s is used after FreeTensor (or TPipe::Reset)", api, operand);
  }
  if (v.slot->state == SlotState::Queued) {
    fail("%s: %s is used between EnQue and DeQue (no sync orders this access)", api, operand);
  }
  return v.slot->base + v.off;
}

static uint32_t ub_offset(const LocalView &v, const uint8_t *p) {
  const CoreContext *ctx = v.slot->owner != nullptr ? v.slot->owner->ctx : nullptr;
  return ctx != nullptr ? static_cast<uint32_t>(p - ctx->ub) : 0;
}

uint8_t *ub_span(const LocalView &v, uint64_t count, uint32_t elem, uint32_t align, const char *api,
                 const char *operand) {
  uint8_t *p = live_address(v, api, operand);
  if (reinterpret_cast<uintptr_t>(p) % align != 0) {
    fail("%s: %s UB address %u is not %u-byte aligned", api, operand, ub_offset(v, p), align);
  }
  if (count * elem > v.len) {
    fail("%s: %s holds %u elements but %llu are accessed", api, operand, v.len / elem,
         (unsigned long long)count);
  }
  return p;
}

uint8_t *ub_scalar(const LocalView &v, uint64_t index, uint32_t elem, const char *api) {
  uint8_t *p = live_address(v, api, "tensor");
  if ((index + 1) * elem > v.len) {
    fail("%s: index %llu is out of range [0, %u)", api, (unsigned long long)index, v.len / elem);
  }
  return p + index * elem;
}

void check_overlap(const uint8_t *a, uint64_t abytes, const uint8_t *b, uint64_t bbytes,
                   const char *api, const char *an, const char *bn, bool allow_same_start) {
  if (abytes == 0 || bbytes == 0 || a >= b + bbytes || b >= a + abytes) return;
  if (allow_same_start && a == b) return;
  if (allow_same_start) {
    fail("%s: %s and %s overlap partially (operands may only coincide exactly)", api, an, bn);
  }
  fail("%s: %s and %s must not overlap", api, an, bn);
}

void gm_check(const void *p, uint64_t count, uint64_t size, bool size_known, uint32_t elem,
              uint32_t align, const char *api) {
  if (p == nullptr) fail("%s: GlobalTensor without SetGlobalBuffer", api);
  if (reinterpret_cast<uintptr_t>(p) % align != 0) {
    fail("%s: GM address %p is not %u-byte aligned", api, p, align);
  }
  if (size_known && count > size) {
    fail("%s: %llu elements of %u B are accessed but the GlobalTensor has %llu", api,
         (unsigned long long)count, elem, (unsigned long long)size);
  }
}

// ---- Queues and buffers ---------------------------------------------------------------------

QueueBase::QueueBase(AscendC::TPosition pos_, int depth_, bool is_tbuf_)
    : qpos(pos_), qdepth(depth_), is_tbuf(is_tbuf_) {
  char buf[64];
  if (is_tbuf) {
    snprintf(buf, sizeof buf, "TBuf<%s>", position_name(qpos));
  } else {
    snprintf(buf, sizeof buf, "TQue<%s, %d>", position_name(qpos), qdepth);
  }
  label = buf;
}

QueueBase::~QueueBase() {
  if (ctx == nullptr || ctx != t_core) return;  // never initialised, or its core is gone
  std::string report = held_report();
  if (!report.empty()) defer_violation(report);
  ctx->held[position_index(qpos)] -= held();
  for (QueueBase **q = &ctx->queues; *q != nullptr; q = &(*q)->next_live) {
    if (*q == this) {
      *q = next_live;
      break;
    }
  }
}

int QueueBase::held() const {
  if (is_tbuf) return 0;
  int n = 0;
  for (const Slot *s : slots) n += s->state != SlotState::Free;
  return n;
}

std::string QueueBase::held_report() const {
  int n = held();
  if (n == 0) return "";
  return name() + ": " + std::to_string(n) +
         " buffer(s) still held at kernel end (AllocTensor or DeQue without FreeTensor)";
}

LocalView QueueBase::alloc() {
  const std::string &me = name();
  if (slots.empty()) fail("%s::AllocTensor before TPipe::InitBuffer", me.c_str());
  Slot *slot = nullptr;
  for (size_t i = 0; i < slots.size() && slot == nullptr; ++i) {
    Slot *s = slots[(next + i) % slots.size()];
    if (s->state == SlotState::Free) {
      slot = s;
      next = static_cast<uint32_t>((next + i + 1) % slots.size());
    }
  }
  if (slot == nullptr) {
    fail("%s::AllocTensor: all %zu buffers are in use (a FreeTensor is missing)", me.c_str(),
         slots.size());
  }
  int &held_here = ctx->held[position_index(qpos)];
  if (held_here + 1 > kMaxHeldPerPosition) {
    fail("%s::AllocTensor: more than %d tensors held at once on %s (the A2 limit)", me.c_str(),
         kMaxHeldPerPosition, position_name(qpos));
  }
  ++held_here;
  std::memset(slot->base, 0xFF, slot->bytes);  // poison: a read before a write shows NaN / -1
  slot->state = SlotState::Allocated;
  return LocalView{slot, slot->gen, 0, slot->bytes};
}

static void check_own(const QueueBase &q, const LocalView &t, const char *api,
                      const std::string &me) {
  if (t.slot == nullptr) fail("%s::%s: empty LocalTensor", me.c_str(), api);
  if (t.slot->owner != &q) {
    fail("%s::%s: the tensor was not allocated from this queue", me.c_str(), api);
  }
}

void QueueBase::enque(const LocalView &t) {
  const std::string &me = name();
  check_own(*this, t, "EnQue", me);
  if (t.gen != t.slot->gen || t.slot->state == SlotState::Free) {
    fail("%s::EnQue: the tensor was already freed", me.c_str());
  }
  if (t.slot->state == SlotState::Queued) {
    fail("%s::EnQue: the tensor is already in the queue", me.c_str());
  }
  if (static_cast<int>(fifo.size()) >= qdepth) {
    fail("%s::EnQue: the queue is full (depth %d)", me.c_str(), qdepth);
  }
  t.slot->state = SlotState::Queued;
  fifo.push_back(t.slot);
}

LocalView QueueBase::deque() {
  const std::string &me = name();
  if (fifo.empty()) fail("%s::DeQue from an empty queue (no matching EnQue)", me.c_str());
  Slot *s = fifo.front();
  fifo.pop_front();
  s->state = SlotState::Dequeued;
  return LocalView{s, s->gen, 0, s->bytes};
}

void QueueBase::free(const LocalView &t) {
  const std::string &me = name();
  check_own(*this, t, "FreeTensor", me);
  if (t.gen != t.slot->gen || t.slot->state == SlotState::Free) {
    fail("%s::FreeTensor: double free (the buffer was already freed)", me.c_str());
  }
  if (t.slot->state == SlotState::Queued) {
    fail("%s::FreeTensor: the tensor is still in the queue (EnQue without DeQue)", me.c_str());
  }
  t.slot->state = SlotState::Free;
  ++t.slot->gen;
  --ctx->held[position_index(qpos)];
}

LocalView QueueBase::get(uint64_t bytes, uint64_t offset, const char *api) {
  if (slots.empty()) fail("%s before TPipe::InitBuffer", api);
  Slot *s = slots[0];
  if (bytes == UINT64_MAX) bytes = offset <= s->bytes ? s->bytes - offset : 0;
  if (offset + bytes > s->bytes) {
    fail("%s: %llu bytes at offset %llu exceed the TBuf's %u bytes", api, (unsigned long long)bytes,
         (unsigned long long)offset, s->bytes);
  }
  return LocalView{s, s->gen, static_cast<uint32_t>(offset), static_cast<uint32_t>(bytes)};
}

void QueueBase::detach(CoreContext *c) {
  for (Slot *s : slots) {
    if (!is_tbuf && s->state != SlotState::Free) --c->held[position_index(qpos)];
    s->state = SlotState::Free;
    ++s->gen;
  }
  slots.clear();
  fifo.clear();
  next = 0;
}

// ---- TPipe ----------------------------------------------------------------------------------

void pipe_open(void *pipe) {
  CoreContext &ctx = core();
  if (ctx.pipe != nullptr) {
    fail("TPipe: a second TPipe while one is alive on this core (the model supports one)");
  }
  ctx.pipe = pipe;
  ctx.ub_used = 0;
}

void pipe_close(void *pipe) {
  if (t_core != nullptr && t_core->pipe == pipe) {
    t_core->pipe = nullptr;
    t_core->ub_used = 0;
  }
}

void pipe_reset() {
  CoreContext &ctx = core();
  for (QueueBase *q = ctx.queues; q != nullptr; q = q->next_live) {
    if (q->held() > 0) {
      fail("TPipe::Reset: %s still holds %d buffer(s)", q->name().c_str(), q->held());
    }
  }
  for (QueueBase *q = ctx.queues; q != nullptr; q = q->next_live) q->detach(&ctx);
  ctx.ub_used = 0;
}

void pipe_init_buffer(QueueBase &q, uint32_t num, uint32_t len) {
  CoreContext &ctx = core();
  const std::string &me = q.name();
  if (ctx.pipe == nullptr) fail("TPipe::InitBuffer(%s) without a live TPipe", me.c_str());
  if (!q.slots.empty()) fail("TPipe::InitBuffer: %s is initialised twice", me.c_str());
  if (q.ctx != nullptr && q.ctx != &ctx) fail("TPipe::InitBuffer: %s of another core", me.c_str());
  if (num == 0 || len == 0) {
    fail("TPipe::InitBuffer: %s with num %u, len %u (both must be > 0)", me.c_str(), num, len);
  }
  const uint32_t rounded = round_up_32(len);
  const uint64_t total = uint64_t(num) * rounded;
  if (ctx.ub_used + total > ctx.ub_bytes) {
    fail(
        "TPipe::InitBuffer: UB overflow: %s needs %u x %u B = %llu B but only %u of the "
        "core's %u B are free",
        me.c_str(), num, rounded, (unsigned long long)total, ctx.ub_bytes - ctx.ub_used,
        ctx.ub_bytes);
  }
  for (uint32_t i = 0; i < num; ++i) {
    q.owned.push_back(std::make_unique<Slot>());
    Slot *s = q.owned.back().get();
    s->base = ctx.ub + ctx.ub_used + uint64_t(i) * rounded;
    s->bytes = rounded;
    s->state = q.is_tbuf ? SlotState::Fixed : SlotState::Free;
    s->owner = &q;
    q.slots.push_back(s);
  }
  std::memset(ctx.ub + ctx.ub_used, 0xFF, total);
  ctx.ub_used += static_cast<uint32_t>(total);
  if (q.ctx == nullptr) {
    q.ctx = &ctx;
    q.next_live = ctx.queues;
    ctx.queues = &q;
  }
}

}  // namespace ascend_emu
}  // namespace crnn
