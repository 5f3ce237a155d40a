// Fused LSTM stack forward as one Ascend C MIX kernel (1 AIC : 2 AIV; Atlas A2 910B / A3), the
// contract of crnn_lstm_forward_f32 (kernels/include/crnn/lstm.h; training reserve
// kernels/common/lstm_layout.h). Compiled here with g++ against our host model of the API
// (kernels/ascend/emu, the cube through its Matmul model) and tested there against the CPU
// kernel; not compiled with CANN, not run on a 910B.
//
// Per layer l (every core runs the same sequence; SyncAll separates the phases):
//   1. input projection, cube: for each direction d ONE Matmul over all frames,
//      gx_d (T*B, 4H) = in (T*B, I_l) x W_ih^T + b_ih (bias of the Matmul), its M rows split
//      over the cores (singleCoreM = projRows, SetTail for the last); SyncAll.
//   2. recurrence: work units (direction, batch slice) over the cores: a unit owns samples
//      [b0, b1) of one direction for all T steps, so the recurrence needs NO cross-core sync
//      (samples are independent; CRNN's B = 64 on 40 AIVs gives 20 slices of 3-4 samples per
//      direction). The other choice, splitting 4H over the cores with a SyncAll per step (as
//      DynamicRNN does), needs 2 barriers per step and buys nothing at B >= 2 * cores / D.
//      Per step s: cube: z (b, 4H) = h_{t-1} (b, H) x W_hh^T + b_hh into the unit's rows of a
//      GM step buffer; vector, in tiles of R samples (gate-major in UB: [i f g o] x R x Hp,
//      rows padded to Hp = H rounded up to 8 with zeros by DataCopyPad): Add(z, gx),
//      Sigmoid (i f), Tanh (g), Sigmoid (o), c = f c_prev + i g, h = o tanh(c) (the vector-API
//      form of common/lstm_math.h's lstm_cell_forward), then h, c to the GM states and the
//      output / reserve rows. A tile whose samples all run frame t is moved with one
//      DataCopyPad per gate (the common case); a ragged tile (seq_length) row by row: a sample
//      past its length (s >= len_b) keeps its state and gets zeros at frame s.
//   3. SyncAll: the layer's output is complete before the next projection reads it.
// seq_length values outside [0, T]: the first such sample goes to the error record
// (crnn_device_error_read) and its length is clamped, as on CUDA.
//
// UB per core (910B: 192 KiB; the host keeps 32 KiB for the Sigmoid / Tanh library scratch and
// refuses a shape whose tile of one sample does not fit: NOT_SUPPORTED; R = the largest number
// of samples <= the slice that fits, op_host/lstm_tiling_host.h):
//   z, gx 2 x 2 x 4*R*Hp, c 2 x R*Hp, out 2 x 6*R*Hp, tmp R*Hp (floats), zeros 4*Hp, lengths
//   Bp int32: 124*R*Hp + 16*Hp + 4*Bp bytes (each a multiple of 32).
//   CRNN (T = 25/26, B = 64, I = 512, H = 256, 2 layers, bidirectional) on 40 AIVs: 20 slices
//     of 3-4 samples per direction, R = 4: 131 328 B (128.3 KiB); on 1 core R = 5: 163 072 B;
//   H = 13 (Hp 16), B = 64: 40 cores R = 4: 8 448 B; 1 core R = 64: 127 488 B;
//   H = 50 (Hp 56), B = 64: 40 cores R = 4: 28 928 B; 1 core R = 23: 160 864 B;
//   largest H (R = 1, B <= 64): 1168 (163 776 B).
// Workspace at the CRNN shape: 21.2 MB (T = 26; mostly the projections, D x T*B x 4H fp32).
// Device sync: PipeBarrier / SetFlag / WaitFlag are no-ops in the model; they mark where the
// cube reads what the vector core's DMA wrote (h) and where the scalar unit's reads happen.
#include "common/lstm_layout.h"
#include "lstm_kernel_common.h"
#include "lstm_tiling.h"

using namespace AscendC;
using namespace crnn_kernel;

REGISTER_TILING_DEFAULT(LstmForwardTiling);

namespace {

constexpr int32_t BUFFER_NUM = 2;

using LstmMatmul = matmul::Matmul<GmF32, GmF32T, GmF32, GmF32>;

class KernelLstmForward {
 public:
  __aicore__ inline KernelLstmForward() {}

  __aicore__ inline void Init(GM_ADDR x, GM_ADDR h0, GM_ADDR c0, GM_ADDR seqLength, GM_ADDR weights,
                              GM_ADDR y, GM_ADDR hN, GM_ADDR cN, GM_ADDR reserve, GM_ADDR error,
                              GM_ADDR workspace, const LstmForwardTiling &t) {
    tl = t;
    const uint64_t TB = uint64_t(t.T) * t.B, BH = uint64_t(t.B) * t.H, DH = uint64_t(t.D) * t.H;
    ws = GetUserWorkspace(workspace);
    xGm.SetGlobalBuffer((__gm__ float *)x, TB * t.I);
    yGm.SetGlobalBuffer((__gm__ float *)y, TB * DH);
    hNGm.SetGlobalBuffer((__gm__ float *)hN, uint64_t(t.L) * t.D * BH);
    cNGm.SetGlobalBuffer((__gm__ float *)cN, uint64_t(t.L) * t.D * BH);
    if (t.hasH0) h0Gm.SetGlobalBuffer((__gm__ float *)h0, uint64_t(t.L) * t.D * BH);
    if (t.hasC0) c0Gm.SetGlobalBuffer((__gm__ float *)c0, uint64_t(t.L) * t.D * BH);
    if (t.hasSeq) seqGm.SetGlobalBuffer((__gm__ int32_t *)seqLength, t.B);
    if (t.train)
      reserveGm.SetGlobalBuffer((__gm__ float *)reserve,
                                uint64_t(crnn::lstm_reserve_size(t.T, t.B, t.H, t.L, t.D)));
    recordGm.SetGlobalBuffer((__gm__ uint64_t *)error, 1);
    wBase = (__gm__ float *)weights;
    gxGm.SetGlobalBuffer((__gm__ float *)(ws + t.gxOff), t.D * TB * t.G);
    zGm.SetGlobalBuffer((__gm__ float *)(ws + t.zOff), uint64_t(t.D) * t.B * t.G);
    hGm.SetGlobalBuffer((__gm__ float *)(ws + t.hOff), t.D * BH);
    cGm.SetGlobalBuffer((__gm__ float *)(ws + t.cOff), t.D * BH);
    if (t.L > 1 && !t.train) {
      bufGm[0].SetGlobalBuffer((__gm__ float *)(ws + t.bufOff[0]), TB * DH);
      bufGm[1].SetGlobalBuffer((__gm__ float *)(ws + t.bufOff[1]), TB * DH);
    }
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), projMM, &tl.projTiling, hiddenMM,
                      &tl.hiddenTiling);
    const uint32_t tile = t.rowsPerTile * t.Hp * sizeof(float);
    pipe.InitBuffer(zQue, BUFFER_NUM, 4 * tile);
    pipe.InitBuffer(gxQue, BUFFER_NUM, 4 * tile);
    pipe.InitBuffer(cQue, BUFFER_NUM, tile);
    pipe.InitBuffer(outQue, BUFFER_NUM, 6 * tile);
    pipe.InitBuffer(tmpBuf, tile);
    pipe.InitBuffer(zeroBuf, 4 * t.Hp * sizeof(float));
    pipe.InitBuffer(lenBuf, t.Bp * sizeof(int32_t));
    zeros = zeroBuf.Get<float>();
    Duplicate(zeros, 0.0f, int32_t(4 * t.Hp));
    lens = lenBuf.Get<int32_t>();
  }

  __aicore__ inline void Process() {
    StageLengths(tl, lens, seqGm, recordGm);
    const uint64_t DH = uint64_t(tl.D) * tl.H;
    GlobalTensor<float> in = xGm;
    uint32_t inSize = tl.I;
    for (uint32_t l = 0; l < tl.L; ++l) {
      GlobalTensor<float> out = yGm;
      if (l + 1 < tl.L)
        out = tl.train ? reserveGm[crnn::lstm_reserve_output_offset(tl.T, tl.B, tl.H, tl.D, l)]
                       : bufGm[l % 2];
      for (uint32_t d = 0; d < tl.D; ++d) Project(l, d, in, inSize);
      SyncAll();
      for (uint32_t u = GetBlockIdx(); u < tl.D * tl.slices; u += VectorCoreNum()) {
        uint32_t d, b0, b1;
        UnitOf(tl, u, d, b0, b1);
        if (b1 > b0) Recurrence(l, d, b0, b1, out);
      }
      SyncAll();
      in = out;
      inSize = uint32_t(DH);
    }
  }

 private:
  // Parameter `which` (0..3: w_ih w_hh b_ih b_hh, `size` floats) of (l, d) in the flat weights.
  __aicore__ inline GlobalTensor<float> Weight(uint32_t l, uint32_t d, uint32_t which,
                                               uint64_t size) {
    GlobalTensor<float> g;
    g.SetGlobalBuffer(wBase + tl.weights.off[uint64_t(l) * tl.D + d][which], size);
    return g;
  }

  // gx_d rows [m0, m0 + projRows) = in x W_ih^T + b_ih (cube).
  __aicore__ inline void Project(uint32_t l, uint32_t d, const GlobalTensor<float> &in,
                                 uint32_t inSize) {
    const uint64_t TB = uint64_t(tl.T) * tl.B, m0 = uint64_t(GetBlockIdx()) * tl.projRows;
    if (m0 >= TB) return;
    const uint32_t rows = uint32_t(TB - m0 < tl.projRows ? TB - m0 : tl.projRows);
    projMM.SetOrgShape(int(TB), int(tl.G), int(inSize));
    projMM.SetSingleShape(int(tl.projRows), int(tl.G), int(inSize));
    projMM.SetTensorA(in[m0 * inSize], false);
    projMM.SetTensorB(Weight(l, d, 0, uint64_t(tl.G) * inSize), true);
    if (tl.hasBias) projMM.SetBias(Weight(l, d, 2, tl.G));
    projMM.SetTail(int(rows), int(tl.G), int(inSize));
    projMM.IterateAll(gxGm[(uint64_t(d) * TB + m0) * tl.G]);
    projMM.End();
  }

  __aicore__ inline void Recurrence(uint32_t l, uint32_t d, uint32_t b0, uint32_t b1,
                                    const GlobalTensor<float> &out) {
    const uint64_t BH = uint64_t(tl.B) * tl.H, idx = uint64_t(l) * tl.D + d;
    dir = d, layer = l;
    outGm = out;
    if (tl.train) {
      gatesGm = reserveGm[crnn::lstm_reserve_gates_offset(tl.T, tl.B, tl.H, tl.D, l, d)];
      cellsGm = reserveGm[crnn::lstm_reserve_cells_offset(tl.T, tl.B, tl.H, tl.D, l, d)];
    }
    stateH = hGm[d * BH], stateC = cGm[d * BH];
    CopyRows(stateH, h0Gm, tl.hasH0, idx * BH, b0, b1);
    CopyRows(stateC, c0Gm, tl.hasC0, idx * BH, b0, b1);
    const int32_t maxLen = MaxLength(lens, b0, b1);
    const GlobalTensor<float> wHh = Weight(l, d, 1, uint64_t(tl.G) * tl.H);
    GlobalTensor<float> bHh;
    if (tl.hasBias) bHh = Weight(l, d, 3, tl.G);
    for (uint32_t s = 0; s < tl.T; ++s) {
      const bool any = int32_t(s) < maxLen;
      if (any) {
        PipeBarrier<PIPE_ALL>();  // the previous step's h (MTE3) before the cube reads it
        hiddenMM.SetTensorA(stateH[uint64_t(b0) * tl.H], false);
        hiddenMM.SetTensorB(wHh, true);
        if (tl.hasBias) hiddenMM.SetBias(bHh);
        hiddenMM.SetTail(int(b1 - b0), int(tl.G), int(tl.H));
        hiddenMM.IterateAll(zGm[(uint64_t(d) * tl.B + b0) * tl.G]);
        hiddenMM.End();
      }
      for (uint32_t r0 = b0; r0 < b1; r0 += tl.rowsPerTile) {
        const uint32_t rows = b1 - r0 < tl.rowsPerTile ? b1 - r0 : tl.rowsPerTile;
        if (!any) {
          for (uint32_t b = r0; b < r0 + rows; ++b) WriteZeros(b, s);
          continue;
        }
        const int64_t t = TileFrame(r0, rows, s);
        CopyIn(r0, rows, s, t);
        Compute(rows);
        CopyOut(r0, rows, s, t);
      }
    }
    CopyRows(hNGm[idx * BH], stateH, true, 0, b0, b1);
    CopyRows(cNGm[idx * BH], stateC, true, 0, b0, b1);
  }

  // The frame every sample of the tile runs at step s, or -1 when they differ / one is done.
  __aicore__ inline int64_t TileFrame(uint32_t r0, uint32_t rows, uint32_t s) {
    int64_t t = -1;
    for (uint32_t b = r0; b < r0 + rows; ++b) {
      const int32_t n = lens.GetValue(b);
      if (int32_t(s) >= n) return -1;
      const int64_t tb = dir == 0 ? int64_t(s) : int64_t(n) - 1 - s;
      if (b > r0 && tb != t) return -1;
      t = tb;
    }
    return t;
  }

  __aicore__ inline int64_t Frame(uint32_t b, uint32_t s) {
    return StepFrame(lens.GetValue(b), dir, s);
  }

  __aicore__ inline uint64_t GxRow(uint64_t t, uint32_t b) {
    return ((uint64_t(dir) * tl.T + t) * tl.B + b) * tl.G;
  }

  // z and gx gate-major ([gate][row][Hp]), c_prev row-major ([row][Hp]).
  __aicore__ inline void CopyIn(uint32_t r0, uint32_t rows, uint32_t s, int64_t t) {
    const uint32_t n = rows * tl.Hp, H4 = tl.H * sizeof(float);
    const DataCopyPadExtParams<float> pad(true, 0, uint8_t(tl.Hp - tl.H), 0.0f);
    const DataCopyExtParams gateCols(uint16_t(rows), H4, 3 * H4, 0, 0);
    LocalTensor<float> z = zQue.AllocTensor<float>(), gx = gxQue.AllocTensor<float>();
    for (uint32_t g = 0; g < 4; ++g)
      DataCopyPad(z[g * n], zGm[(uint64_t(dir) * tl.B + r0) * tl.G + g * tl.H], gateCols, pad);
    if (t >= 0) {
      for (uint32_t g = 0; g < 4; ++g)
        DataCopyPad(gx[g * n], gxGm[GxRow(t, r0) + g * tl.H], gateCols, pad);
    } else {
      Duplicate(gx, 0.0f, int32_t(4 * n));  // samples past their length: finite, not written
      Sync<HardEvent::V_MTE2>();
      const DataCopyExtParams row(4, H4, 0, (rows - 1) * tl.Hp * sizeof(float) / 32, 0);
      for (uint32_t r = 0; r < rows; ++r) {
        const int64_t tb = Frame(r0 + r, s);
        if (tb >= 0) DataCopyPad(gx[r * tl.Hp], gxGm[GxRow(tb, r0 + r)], row, pad);
      }
    }
    zQue.EnQue(z);
    gxQue.EnQue(gx);
    LocalTensor<float> c = cQue.AllocTensor<float>();
    DataCopyPad(c, stateC[uint64_t(r0) * tl.H], DataCopyExtParams(uint16_t(rows), H4, 0, 0, 0),
                pad);
    cQue.EnQue(c);
  }

  // out = [i f g o (4n) | c (n) | h (n)], n = rows * Hp.
  __aicore__ inline void Compute(uint32_t rows) {
    const int32_t n = int32_t(rows * tl.Hp);
    LocalTensor<float> z = zQue.DeQue<float>(), gx = gxQue.DeQue<float>();
    LocalTensor<float> c = cQue.DeQue<float>(), out = outQue.AllocTensor<float>();
    LocalTensor<float> tmp = tmpBuf.Get<float>();
    Add(z, z, gx, 4 * n);
    Sigmoid(out, z, uint32_t(2 * n));  // i, f
    Tanh(out[2 * n], z[2 * n], uint32_t(n));
    Sigmoid(out[3 * n], z[3 * n], uint32_t(n));
    Mul(out[4 * n], out[n], c, n);        // f c_prev
    Mul(tmp, out, out[2 * n], n);         // i g
    Add(out[4 * n], out[4 * n], tmp, n);  // c
    Tanh(tmp, out[4 * n], uint32_t(n));
    Mul(out[5 * n], out[3 * n], tmp, n);  // h
    outQue.EnQue(out);
    zQue.FreeTensor(z);
    gxQue.FreeTensor(gx);
    cQue.FreeTensor(c);
  }

  __aicore__ inline void CopyOut(uint32_t r0, uint32_t rows, uint32_t s, int64_t t) {
    const uint32_t n = rows * tl.Hp, H4 = tl.H * sizeof(float), DH = tl.D * tl.H;
    LocalTensor<float> out = outQue.DeQue<float>();
    if (t >= 0) {  // every sample at frame t: one copy per tensor (per gate for the reserve)
      const DataCopyExtParams rowsOf(uint16_t(rows), H4, 0, 0, 0);
      DataCopyPad(stateC[uint64_t(r0) * tl.H], out[4 * n], rowsOf);
      DataCopyPad(stateH[uint64_t(r0) * tl.H], out[5 * n], rowsOf);
      const uint64_t row = uint64_t(t) * tl.B + r0;
      DataCopyPad(outGm[row * DH + dir * tl.H], out[5 * n],
                  DataCopyExtParams(uint16_t(rows), H4, 0, (DH - tl.H) * sizeof(float), 0));
      if (tl.train) {
        const DataCopyExtParams gateCols(uint16_t(rows), H4, 0, 3 * H4, 0);
        for (uint32_t g = 0; g < 4; ++g)
          DataCopyPad(gatesGm[row * tl.G + g * tl.H], out[g * n], gateCols);
        DataCopyPad(cellsGm[row * tl.H], out[4 * n], rowsOf);
      }
    } else {
      const DataCopyExtParams one(1, H4, 0, 0, 0);
      const DataCopyExtParams gates(4, H4, (rows - 1) * tl.Hp * sizeof(float) / 32, 0, 0);
      for (uint32_t r = 0; r < rows; ++r) {
        const uint32_t b = r0 + r;
        const int64_t tb = Frame(b, s);
        if (tb < 0) {
          WriteZeros(b, s);
          continue;
        }
        const uint64_t row = uint64_t(tb) * tl.B + b;
        DataCopyPad(stateC[uint64_t(b) * tl.H], out[4 * n + r * tl.Hp], one);
        DataCopyPad(stateH[uint64_t(b) * tl.H], out[5 * n + r * tl.Hp], one);
        DataCopyPad(outGm[row * DH + dir * tl.H], out[5 * n + r * tl.Hp], one);
        if (tl.train) {
          DataCopyPad(gatesGm[row * tl.G], out[r * tl.Hp], gates);
          DataCopyPad(cellsGm[row * tl.H], out[4 * n + r * tl.Hp], one);
        }
      }
    }
    outQue.FreeTensor(out);
  }

  // Frame s of sample b is past its length: zero output (and reserve) rows.
  __aicore__ inline void WriteZeros(uint32_t b, uint32_t s) {
    const uint32_t H4 = tl.H * sizeof(float), DH = tl.D * tl.H;
    const uint64_t row = uint64_t(s) * tl.B + b;
    DataCopyPad(outGm[row * DH + dir * tl.H], zeros, DataCopyExtParams(1, H4, 0, 0, 0));
    if (tl.train) {
      DataCopyPad(gatesGm[row * tl.G], zeros, DataCopyExtParams(4, H4, 0, 0, 0));
      DataCopyPad(cellsGm[row * tl.H], zeros, DataCopyExtParams(1, H4, 0, 0, 0));
    }
  }

  __aicore__ inline void CopyRows(const GlobalTensor<float> &dst, const GlobalTensor<float> &src,
                                  bool hasSrc, uint64_t srcOff, uint32_t b0, uint32_t b1) {
    CopyStateRows(cQue, dst, src, hasSrc, srcOff, b0, b1, tl.H, tl.Hp, tl.rowsPerTile);
  }

  LstmForwardTiling tl;
  GM_ADDR ws;
  __gm__ float *wBase = nullptr;  // the flat parameters (tl.weights: where each lives)
  TPipe pipe;
  LstmMatmul projMM, hiddenMM;
  TQue<TPosition::VECIN, BUFFER_NUM> zQue, gxQue, cQue;
  TQue<TPosition::VECOUT, BUFFER_NUM> outQue;
  TBuf<TPosition::VECCALC> tmpBuf, zeroBuf, lenBuf;
  LocalTensor<float> zeros;
  LocalTensor<int32_t> lens;
  GlobalTensor<float> xGm, yGm, hNGm, cNGm, h0Gm, c0Gm, reserveGm, gxGm, zGm, hGm, cGm;
  GlobalTensor<float> bufGm[2];
  GlobalTensor<float> outGm, gatesGm, cellsGm, stateH, stateC;
  GlobalTensor<int32_t> seqGm;
  GlobalTensor<uint64_t> recordGm;
  uint32_t dir = 0, layer = 0;
};

__aicore__ inline void RunLstmForward(GM_ADDR x, GM_ADDR h0, GM_ADDR c0, GM_ADDR seqLength,
                                      GM_ADDR weights, GM_ADDR y, GM_ADDR hN, GM_ADDR cN,
                                      GM_ADDR reserve, GM_ADDR error, GM_ADDR workspace,
                                      GM_ADDR tiling) {
  GET_TILING_DATA(t, tiling);
  KernelLstmForward op;
  op.Init(x, h0, c0, seqLength, weights, y, hN, cN, reserve, error, workspace, t);
  op.Process();
}

}  // namespace

// The op CrnnLstmForward (op_host/lstm_forward.cpp), the training entry: the aot entry's inputs
// x (T, B, I); h0, c0 (L*D, B, H) (read when tiling hasH0 / hasC0: a rank-1 stand-in otherwise);
// seq_length (B,) int32 (read when hasSeq); config (its shape (L, D, H) is the tiling's; unused
// here); weights, flat (LstmWeightOffsets); outputs y (T, B, D*H), h_n, c_n (L*D, B, H),
// reserve (common/lstm_layout.h), error: the 64-bit record (core 0 writes it, all ones = none);
// workspace (LstmForwardTiling's regions), tiling. (CANN compiles the file once per op through
// a wrapper that defines CRNN_CANN_KERNEL_<entry>, kernels/ascend/cann_package.py: one entry each.)
#if !defined(CRNN_CANN_KERNEL) || defined(CRNN_CANN_KERNEL_crnn_lstm_forward)
extern "C" __global__ __aicore__ void crnn_lstm_forward(GM_ADDR x, GM_ADDR h0, GM_ADDR c0,
                                                        GM_ADDR seqLength, GM_ADDR config,
                                                        GM_ADDR weights, GM_ADDR y, GM_ADDR hN,
                                                        GM_ADDR cN, GM_ADDR reserve, GM_ADDR error,
                                                        GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
  (void)config;
  RunLstmForward(x, h0, c0, seqLength, weights, y, hN, cN, reserve, error, workspace, tiling);
}
#endif

// The op CrnnLstmForwardInfer: the same without the reserve output (tiling train = 0).
#if !defined(CRNN_CANN_KERNEL) || defined(CRNN_CANN_KERNEL_crnn_lstm_forward_infer)
extern "C" __global__ __aicore__ void crnn_lstm_forward_infer(GM_ADDR x, GM_ADDR h0, GM_ADDR c0,
                                                              GM_ADDR seqLength, GM_ADDR config,
                                                              GM_ADDR weights, GM_ADDR y,
                                                              GM_ADDR hN, GM_ADDR cN, GM_ADDR error,
                                                              GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
  (void)config;
  RunLstmForward(x, h0, c0, seqLength, weights, y, hN, cN, nullptr, error, workspace, tiling);
}
#endif
