// Conformance of the Ascend C host model's declarations with the public signatures listed in
// shared/ASCEND.md section 3 (CANN 8.5 headers): each line takes the address of an API as the
// exact function type the documentation gives, so a drifted parameter type or order fails to
// compile. (Whether the real headers compile a kernel can only be checked with CANN.)
#include <cstdio>

#include "kernel_operator.h"

using namespace AscendC;
using LF = LocalTensor<float>;
using LI = LocalTensor<int32_t>;
using LU8 = LocalTensor<uint8_t>;
using GF = GlobalTensor<float>;

template <typename F>
constexpr bool has(F) {
  return true;
}

// Vector APIs.
using Binary = void (*)(const LF &, const LF &, const LF &, const int32_t &);
static_assert(has<Binary>(&Add<float>) && has<Binary>(&Sub<float>) && has<Binary>(&Mul<float>) &&
              has<Binary>(&Div<float>) && has<Binary>(&Max<float>) && has<Binary>(&Min<float>));
using BinaryInt = void (*)(const LI &, const LI &, const LI &, const int32_t &);
static_assert(has<BinaryInt>(&Add<int32_t>) && has<BinaryInt>(&Max<int32_t>));
using Scalar = void (*)(const LF &, const LF &, const float &, const int32_t &);
static_assert(has<Scalar>(&Adds<float, true>) && has<Scalar>(&Muls<float>) &&
              has<Scalar>(&Maxs<float>) && has<Scalar>(&Mins<float>));
using Unary = void (*)(const LF &, const LF &, const int32_t &);
static_assert(has<Unary>(&Exp<float>) && has<Unary>(&Ln<float>) && has<Unary>(&Abs<float>) &&
              has<Unary>(&Sqrt<float>) && has<Unary>(&Reciprocal<float>) &&
              has<Unary>(&Relu<float>));
static_assert(has<void (*)(const LF &, const float &, const int32_t &)>(&Duplicate<float>));
static_assert(has<void (*)(const LU8 &, const LF &, const LF &, CMPMODE, uint32_t)>(
    &Compare<float, uint8_t>));
static_assert(has<void (*)(const LU8 &, const LF &, const float, CMPMODE, uint32_t)>(
    &CompareScalar<float, uint8_t>));
static_assert(has<void (*)(const LF &, const LU8 &, const LF &, const LF &, SELMODE, uint32_t)>(
    &Select<float, uint8_t>));
static_assert(has<void (*)(const LF &, const LU8 &, const LF &, float, SELMODE, uint32_t)>(
    &Select<float, uint8_t>));
static_assert(has<void (*)(const LI &, const LF &, const RoundMode &, const uint32_t)>(
    &Cast<int32_t, float>));
static_assert(has<void (*)(const LF &, const LocalTensor<half> &, const RoundMode &,
                           const uint32_t)>(&Cast<float, half>));
static_assert(has<void (*)(const LocalTensor<bfloat16_t> &, const LF &, const RoundMode &,
                           const uint32_t)>(&Cast<bfloat16_t, float>));
static_assert(has<void (*)(const LF &, const LF &, const LocalTensor<uint32_t> &, const uint32_t,
                           const uint32_t)>(&Gather<float>));
static_assert(
    has<void (*)(const LF &, const LF &, const LF &, const int32_t, bool)>(&ReduceMax<float>));
static_assert(
    has<void (*)(const LF &, const LF &, const LF &, const int32_t)>(&ReduceSum<float, true>));
using Adv = void (*)(const LF &, const LF &, const uint32_t);
using AdvTmp = void (*)(const LF &, const LF &, const LU8 &, const uint32_t);
static_assert(has<Adv>(&Sigmoid<float, false>) && has<AdvTmp>(&Sigmoid<float, false>) &&
              has<Adv>(&Tanh<float>) && has<AdvTmp>(&Tanh<float>) && has<Adv>(&Log<float>) &&
              has<AdvTmp>(&Log<float>) && has<Adv>(&Exp<float, 0, false>) &&
              has<AdvTmp>(&Exp<float, 0>));

// Data movement, sync, system.
static_assert(has<void (*)(const LF &, const GF &, const uint32_t)>(&DataCopy<float>) &&
              has<void (*)(const GF &, const LF &, const uint32_t)>(&DataCopy<float>) &&
              has<void (*)(const LF &, const LF &, const uint32_t)>(&DataCopy<float>));
static_assert(
    has<void (*)(const LF &, const GF &, const DataCopyExtParams &,
                 const DataCopyPadExtParams<float> &)>(&DataCopyPad<float>) &&
    has<void (*)(const GF &, const LF &, const DataCopyExtParams &)>(&DataCopyPad<float>));
static_assert(has<void (*)()>(&SetAtomicAdd<float>) && has<void (*)()>(&SetAtomicNone) &&
              has<void (*)()>(&SyncAll<true>) && has<void (*)()>(&PipeBarrier<PIPE_V>) &&
              has<void (*)(int32_t)>(&SetFlag<HardEvent::MTE2_V>) &&
              has<void (*)(int32_t)>(&WaitFlag<HardEvent::V_MTE3>));
static_assert(has<int64_t (*)()>(&GetBlockIdx) && has<int64_t (*)()>(&GetBlockNum));

// Tensors, pipe, queues.
using QIn = TQue<TPosition::VECIN, 2>;
using Calc = TBuf<TPosition::VECCALC>;
static_assert(has<bool (TPipe::*)(QIn &, uint8_t, uint32_t)>(&TPipe::InitBuffer<QIn>) &&
              has<bool (TPipe::*)(Calc &, uint32_t)>(&TPipe::InitBuffer<TPosition::VECCALC>));
static_assert(has<LF (QIn::*)()>(&QIn::AllocTensor<float>) &&
              has<bool (QIn::*)(const LF &)>(&QIn::EnQue<float>) &&
              has<LF (QIn::*)()>(&QIn::DeQue<float>) &&
              has<void (QIn::*)(LF &)>(&QIn::FreeTensor<float>));
static_assert(has<LF (Calc::*)()>(&Calc::Get<float>) &&
              has<LF (Calc::*)(uint32_t)>(&Calc::Get<float>));
static_assert(has<float (LF::*)(const uint32_t) const>(&LF::GetValue) &&
              has<void (LF::*)(const uint32_t, const float) const>(&LF::SetValue) &&
              has<LF (LF::*)(const uint32_t) const>(&LF::operator[]) &&
              has<uint32_t (LF::*)() const>(&LF::GetSize) &&
              has<LI (LF::*)() const>(&LF::ReinterpretCast<int32_t>));
static_assert(has<void (GF::*)(float *, uint64_t)>(&GF::SetGlobalBuffer) &&
              has<void (GF::*)(float *)>(&GF::SetGlobalBuffer) &&
              has<GF (GF::*)(const uint64_t) const>(&GF::operator[]));

int main() {
  printf("test_ascend_signatures: the model declares the documented signatures\n");
  return 0;
}
