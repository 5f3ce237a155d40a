// Fused LSTM stack backward as one Ascend C MIX kernel (1 AIC : 2 AIV; Atlas A2 910B / A3), the
// contract of crnn_lstm_backward_f32 (kernels/include/crnn/lstm.h), reading the training reserve
// of any backend's forward (kernels/common/lstm_layout.h). Compiled here with g++ against our
// host model of the API (kernels/ascend/emu, the cube through its Matmul model) and tested
// there against the CPU kernel; not compiled with CANN, not run on a 910B.
//
// Per layer l, top to bottom (every core runs the same sequence; SyncAll between the phases):
//   A. back through time, work units (direction, batch slice) as in the forward (no cross-core
//      sync). Per step s from T-1 down, vector, in tiles of R samples: the gate derivatives of
//      common/lstm_math.h's lstm_cell_backward in vector-API form from the activated gates
//      (gate-major [i f g o] x R x Hp in UB), c_t, c_{t-1} (or c0 / 0), dy + dh and dc:
//        dc' = dc + (dh' o)(1 - tanh(c)^2), dz_i = dc' g i (1-i), dz_f = dc' c_prev f (1-f),
//        dz_g = dc' i (1-g^2), dz_o = dh' tanh(c) o (1-o), dc <- dc' f;
//      dz goes to the layer's dz (T*B, 4H) and to the unit's rows of a step buffer (zeros for a
//      sample past its length), h_{t-1} (the previous frame's output, or h0 / 0) to hprev
//      (T*B, H), and dh of the active samples is zeroed; then the cube adds
//      dh (b, H) += dz_step (b, 4H) x W_hh (4H, H) (IterateAll with enAtomic = 1): an active
//      sample gets dz W_hh, a finished one keeps its dh (+ 0). dh0 / dc0 at the end.
//   B. after SyncAll, cube only, per direction: the 4H rows of dW split over the cores:
//      dW_hh = dz^T (4H, T*B) x hprev, dW_ih = dz^T x in (A transposed), db_ih = db_hh =
//      ones (1, T*B) x dz (the column sums, summed in frame order as the CPU does); the T*B
//      rows of din split over the cores: din = dz_0 W_ih_0 (+ dz_1 W_ih_1, enAtomic = 1). din is
//      dx for l = 0, else the next layer's dy (ping-pong workspace). SyncAll.
// seq_length outside [0, T]: recorded and clamped, as in the forward.
//
// UB per core (910B: 192 KiB; 32 KiB kept for the Tanh library scratch; NOT_SUPPORTED when one
// sample's tile does not fit): gates 2 x 4*R*Hp, states 2 x 6*R*Hp [c c_prev h_prev dy dh dc],
// out 2 x 6*R*Hp [dz (4) dc' h_prev], tmp 4*R*Hp (floats), zeros max(4, R)*Hp, ones 64,
// lengths Bp int32: 144*R*Hp + 4*max(4, R)*Hp + 256 + 4*Bp bytes.
//   CRNN (T = 25/26, B = 64, H = 256, 2 layers, bidirectional) on 40 AIVs: R = 4: 152 064 B
//   (148.5 KiB); on 1 core the same R = 4;
//   H = 13 (Hp 16), B = 64: 40 cores R = 4: 9 984 B; 1 core R = 64: 152 064 B;
//   H = 50 (Hp 56), B = 64: 40 cores R = 4: 33 664 B; 1 core R = 19: 157 984 B;
//   largest H (R = 1, B <= 64): 1016 (163 072 B).
// Workspace at the CRNN shape: 24.6 MB (T = 26).
#include "common/lstm_layout.h"
#include "lstm_kernel_common.h"
#include "lstm_tiling.h"

using namespace AscendC;
using namespace crnn_kernel;

REGISTER_TILING_DEFAULT(LstmBackwardTiling);

namespace {

constexpr int32_t BUFFER_NUM = 2;
constexpr uint32_t kOnesChunk = 64;

using LstmMatmul = matmul::Matmul<GmF32T, GmF32, GmF32, GmF32>;

// Where one row of a per-sample state lives: a GM tensor and the offset of sample r0's row,
// consecutive samples `stride` apart; none = zeros.
struct RowSrc {
  GlobalTensor<float> gm;
  uint64_t off;
  uint32_t stride;
  bool none;
};

class KernelLstmBackward {
 public:
  __aicore__ inline KernelLstmBackward() {}

  __aicore__ inline void Init(GM_ADDR dx, GM_ADDR dh0, GM_ADDR dc0, GM_ADDR dweights, GM_ADDR dy,
                              GM_ADDR dhN, GM_ADDR dcN, GM_ADDR x, GM_ADDR y, GM_ADDR h0,
                              GM_ADDR c0, GM_ADDR seqLength, GM_ADDR reserve, GM_ADDR weights,
                              GM_ADDR error, GM_ADDR workspace, const LstmBackwardTiling &t) {
    tl = t;
    const uint64_t TB = uint64_t(t.T) * t.B, BH = uint64_t(t.B) * t.H, DH = uint64_t(t.D) * t.H;
    const uint64_t LDBH = uint64_t(t.L) * t.D * BH;
    GM_ADDR ws = GetUserWorkspace(workspace);
    dxGm.SetGlobalBuffer((__gm__ float *)dx, TB * t.I);
    dyGm.SetGlobalBuffer((__gm__ float *)dy, TB * DH);
    xGm.SetGlobalBuffer((__gm__ float *)x, TB * t.I);
    yGm.SetGlobalBuffer((__gm__ float *)y, TB * DH);
    if (t.hasDh0) dh0Gm.SetGlobalBuffer((__gm__ float *)dh0, LDBH);
    if (t.hasDc0) dc0Gm.SetGlobalBuffer((__gm__ float *)dc0, LDBH);
    if (t.hasDhn) dhNGm.SetGlobalBuffer((__gm__ float *)dhN, LDBH);
    if (t.hasDcn) dcNGm.SetGlobalBuffer((__gm__ float *)dcN, LDBH);
    if (t.hasH0) h0Gm.SetGlobalBuffer((__gm__ float *)h0, LDBH);
    if (t.hasC0) c0Gm.SetGlobalBuffer((__gm__ float *)c0, LDBH);
    if (t.hasSeq) seqGm.SetGlobalBuffer((__gm__ int32_t *)seqLength, t.B);
    reserveGm.SetGlobalBuffer((__gm__ float *)reserve,
                              uint64_t(crnn::lstm_reserve_size(t.T, t.B, t.H, t.L, t.D)));
    recordGm.SetGlobalBuffer((__gm__ uint64_t *)error, 1);
    wBase = (__gm__ float *)weights, dwBase = (__gm__ float *)dweights;
    onesGm.SetGlobalBuffer((__gm__ float *)(ws + t.onesOff), TB);
    dzGm.SetGlobalBuffer((__gm__ float *)(ws + t.dzOff), t.D * TB * t.G);
    zsGm.SetGlobalBuffer((__gm__ float *)(ws + t.zsOff), uint64_t(t.D) * t.B * t.G);
    dhGm.SetGlobalBuffer((__gm__ float *)(ws + t.dhOff), t.D * BH);
    dcGm.SetGlobalBuffer((__gm__ float *)(ws + t.dcOff), t.D * BH);
    hprevGm.SetGlobalBuffer((__gm__ float *)(ws + t.hprevOff), t.D * TB * t.H);
    if (t.L > 1) {
      bufGm[0].SetGlobalBuffer((__gm__ float *)(ws + t.bufOff[0]), TB * DH);
      bufGm[1].SetGlobalBuffer((__gm__ float *)(ws + t.bufOff[1]), TB * DH);
    }
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), dhMM, &tl.dhTiling, dwMM, &tl.dwTiling, dxMM,
                      &tl.dxTiling);
    const uint32_t tile = t.rowsPerTile * t.Hp * sizeof(float);
    pipe.InitBuffer(gQue, BUFFER_NUM, 4 * tile);
    pipe.InitBuffer(sQue, BUFFER_NUM, 6 * tile);
    pipe.InitBuffer(oQue, BUFFER_NUM, 6 * tile);
    pipe.InitBuffer(tmpBuf, 4 * tile);
    const uint32_t zeroRows = t.rowsPerTile > 4 ? t.rowsPerTile : 4;
    pipe.InitBuffer(zeroBuf, zeroRows * t.Hp * sizeof(float));
    pipe.InitBuffer(onesBuf, kOnesChunk * sizeof(float));
    pipe.InitBuffer(lenBuf, t.Bp * sizeof(int32_t));
    zeros = zeroBuf.Get<float>();
    Duplicate(zeros, 0.0f, int32_t(zeroRows * t.Hp));
    lens = lenBuf.Get<int32_t>();
  }

  __aicore__ inline void Process() {
    StageLengths(tl, lens, seqGm, recordGm);
    if (GetBlockIdx() == 0 && tl.hasBias) FillOnes();
    for (int32_t l = int32_t(tl.L) - 1; l >= 0; --l) {
      const uint32_t inSize = l == 0 ? tl.I : tl.D * tl.H;
      const uint64_t outOff = crnn::lstm_reserve_output_offset(tl.T, tl.B, tl.H, tl.D, l);
      outGm = l == int32_t(tl.L) - 1 ? yGm : reserveGm[outOff];
      doutGm = l == int32_t(tl.L) - 1 ? dyGm : bufGm[(l + 1) % 2];
      const GlobalTensor<float> in =
          l == 0 ? xGm : reserveGm[crnn::lstm_reserve_output_offset(tl.T, tl.B, tl.H, tl.D, l - 1)];
      const GlobalTensor<float> din = l == 0 ? dxGm : bufGm[l % 2];
      for (uint32_t u = GetBlockIdx(); u < tl.D * tl.slices; u += VectorCoreNum()) {
        uint32_t d, b0, b1;
        UnitOf(tl, u, d, b0, b1);
        if (b1 > b0) Bptt(uint32_t(l), d, b0, b1);
      }
      SyncAll();
      for (uint32_t d = 0; d < tl.D; ++d) WeightGrads(uint32_t(l), d, in, inSize, din);
      SyncAll();
    }
  }

 private:
  // The (1, T*B) ones of the bias-gradient GEMM (core 0, before the first SyncAll).
  __aicore__ inline void FillOnes() {
    LocalTensor<float> ones = onesBuf.Get<float>();
    Duplicate(ones, 1.0f, int32_t(kOnesChunk));
    Sync<HardEvent::V_MTE3>();
    const uint64_t TB = uint64_t(tl.T) * tl.B;
    for (uint64_t i = 0; i < TB; i += kOnesChunk) {
      const uint32_t n = uint32_t(TB - i < kOnesChunk ? TB - i : kOnesChunk);
      DataCopyPad(onesGm[i], ones, DataCopyExtParams(1, n * sizeof(float), 0, 0, 0));
    }
  }

  // Parameter `which` of (l, d), `size` floats: 0..3 w_ih w_hh b_ih b_hh in the flat weights,
  // 4..7 dw_ih dw_hh db_ih db_hh in the flat dweights (the same offsets).
  __aicore__ inline GlobalTensor<float> Param(uint32_t l, uint32_t d, uint32_t which,
                                              uint64_t size) {
    const uint64_t off = tl.weights.off[uint64_t(l) * tl.D + d][which % 4];
    GlobalTensor<float> g;
    g.SetGlobalBuffer((which < 4 ? wBase : dwBase) + off, size);
    return g;
  }

  __aicore__ inline void Bptt(uint32_t l, uint32_t d, uint32_t b0, uint32_t b1) {
    const uint64_t TB = uint64_t(tl.T) * tl.B, BH = uint64_t(tl.B) * tl.H;
    dir = d, idx = uint64_t(l) * tl.D + d;
    gatesGm = reserveGm[crnn::lstm_reserve_gates_offset(tl.T, tl.B, tl.H, tl.D, l, d)];
    cellsGm = reserveGm[crnn::lstm_reserve_cells_offset(tl.T, tl.B, tl.H, tl.D, l, d)];
    dzD = dzGm[uint64_t(d) * TB * tl.G], hprevD = hprevGm[uint64_t(d) * TB * tl.H];
    zsD = zsGm[uint64_t(d) * tl.B * tl.G];
    stateDh = dhGm[d * BH], stateDc = dcGm[d * BH];
    CopyRows(stateDh, dhNGm, tl.hasDhn, idx * BH, b0, b1);
    CopyRows(stateDc, dcNGm, tl.hasDcn, idx * BH, b0, b1);
    const int32_t maxLen = MaxLength(lens, b0, b1);
    const GlobalTensor<float> wHh = Param(l, d, 1, uint64_t(tl.G) * tl.H);
    for (int32_t s = int32_t(tl.T) - 1; s >= 0; --s) {
      for (uint32_t r0 = b0; r0 < b1; r0 += tl.rowsPerTile) {
        const uint32_t rows = b1 - r0 < tl.rowsPerTile ? b1 - r0 : tl.rowsPerTile;
        if (s >= maxLen) {
          for (uint32_t b = r0; b < r0 + rows; ++b) WriteInactive(b, uint32_t(s), false);
          continue;
        }
        const int64_t t = TileFrame(r0, rows, uint32_t(s));
        CopyIn(r0, rows, uint32_t(s), t);
        Compute(rows);
        CopyOut(r0, rows, uint32_t(s), t);
      }
      if (s < maxLen) {
        PipeBarrier<PIPE_ALL>();  // the step rows and the zeroed dh (MTE3) before the cube
        dhMM.SetTensorA(zsD[uint64_t(b0) * tl.G], false);
        dhMM.SetTensorB(wHh, false);
        dhMM.SetTail(int(b1 - b0), int(tl.H), int(tl.G));
        dhMM.IterateAll(stateDh[uint64_t(b0) * tl.H], 1);
        dhMM.End();
      }
    }
    if (tl.hasDh0) CopyRows(dh0Gm[idx * BH], stateDh, true, 0, b0, b1);
    if (tl.hasDc0) CopyRows(dc0Gm[idx * BH], stateDc, true, 0, b0, b1);
  }

  __aicore__ inline int64_t Frame(uint32_t b, uint32_t s) {
    return StepFrame(lens.GetValue(b), dir, s);
  }

  // The frame every sample of the tile runs at step s with the same first-frame status, or -1.
  __aicore__ inline int64_t TileFrame(uint32_t r0, uint32_t rows, uint32_t s) {
    const int64_t t = Frame(r0, s);
    if (t < 0) return -1;
    for (uint32_t b = r0 + 1; b < r0 + rows; ++b)
      if (Frame(b, s) != t || First(b, t) != First(r0, t)) return -1;
    return t;
  }

  // Frame t is where sample b's recurrence began (its c_prev / h_prev are c0 / h0).
  __aicore__ inline bool First(uint32_t b, int64_t t) {
    return dir == 0 ? t == 0 : t + 1 >= lens.GetValue(b);
  }

  __aicore__ inline RowSrc Prev(uint32_t b, int64_t t, bool cell) {
    const uint32_t DH = tl.D * tl.H;
    const uint64_t BH = uint64_t(tl.B) * tl.H;
    if (First(b, t)) {
      const bool has = cell ? tl.hasC0 : tl.hasH0;
      return {cell ? c0Gm : h0Gm, idx * BH + uint64_t(b) * tl.H, tl.H, !has};
    }
    const uint64_t row = uint64_t(dir == 0 ? t - 1 : t + 1) * tl.B + b;
    if (cell) return {cellsGm, row * tl.H, tl.H, false};
    return {outGm, row * DH + dir * tl.H, DH, false};
  }

  // rows x H floats (consecutive samples `stride` apart) into UB rows of Hp, zero-padded.
  __aicore__ inline void LoadRows(const LocalTensor<float> &dst, const RowSrc &src, uint32_t rows) {
    if (src.none) {
      Duplicate(dst, 0.0f, int32_t(rows * tl.Hp));
      return;
    }
    const uint32_t H4 = tl.H * sizeof(float);
    DataCopyPad(dst, src.gm[src.off],
                DataCopyExtParams(uint16_t(rows), H4, (src.stride - tl.H) * sizeof(float), 0, 0),
                DataCopyPadExtParams<float>(true, 0, uint8_t(tl.Hp - tl.H), 0.0f));
  }

  // gates gate-major; states [c | c_prev | h_prev | dy | dh | dc], each rows x Hp.
  __aicore__ inline void CopyIn(uint32_t r0, uint32_t rows, uint32_t s, int64_t t) {
    const uint32_t n = rows * tl.Hp, H4 = tl.H * sizeof(float), DH = tl.D * tl.H;
    const DataCopyPadExtParams<float> pad(true, 0, uint8_t(tl.Hp - tl.H), 0.0f);
    LocalTensor<float> g = gQue.AllocTensor<float>(), st = sQue.AllocTensor<float>();
    LoadRows(st[4 * n], {stateDh, uint64_t(r0) * tl.H, tl.H, false}, rows);
    LoadRows(st[5 * n], {stateDc, uint64_t(r0) * tl.H, tl.H, false}, rows);
    if (t >= 0) {
      const uint64_t row = uint64_t(t) * tl.B + r0;
      const DataCopyExtParams gateCols(uint16_t(rows), H4, 3 * H4, 0, 0);
      for (uint32_t k = 0; k < 4; ++k)
        DataCopyPad(g[k * n], gatesGm[row * tl.G + k * tl.H], gateCols, pad);
      LoadRows(st, {cellsGm, row * tl.H, tl.H, false}, rows);
      LoadRows(st[n], Prev(r0, t, true), rows);
      LoadRows(st[2 * n], Prev(r0, t, false), rows);
      LoadRows(st[3 * n], {doutGm, row * DH + dir * tl.H, DH, false}, rows);
    } else {  // ragged: row by row; samples past their length compute on zeros (not written)
      Duplicate(g, 0.0f, int32_t(4 * n));
      Duplicate(st, 0.0f, int32_t(4 * n));
      Sync<HardEvent::V_MTE2>();
      const DataCopyExtParams gateRow(4, H4, 0, (rows - 1) * tl.Hp * sizeof(float) / 32, 0);
      for (uint32_t r = 0; r < rows; ++r) {
        const uint32_t b = r0 + r;
        const int64_t tb = Frame(b, s);
        if (tb < 0) continue;
        const uint64_t row = uint64_t(tb) * tl.B + b;
        const uint32_t o = r * tl.Hp;
        DataCopyPad(g[o], gatesGm[row * tl.G], gateRow, pad);
        LoadRows(st[o], {cellsGm, row * tl.H, tl.H, false}, 1);
        LoadRows(st[n + o], Prev(b, tb, true), 1);
        LoadRows(st[2 * n + o], Prev(b, tb, false), 1);
        LoadRows(st[3 * n + o], {doutGm, row * DH + dir * tl.H, DH, false}, 1);
      }
    }
    gQue.EnQue(g);
    sQue.EnQue(st);
  }

  // out = [dz_i dz_f dz_g dz_o | dc_prev | h_prev], n = rows * Hp each.
  __aicore__ inline void Compute(uint32_t rows) {
    const int32_t n = int32_t(rows * tl.Hp);
    LocalTensor<float> g = gQue.DeQue<float>(), st = sQue.DeQue<float>();
    LocalTensor<float> out = oQue.AllocTensor<float>(), tmp = tmpBuf.Get<float>();
    const LocalTensor<float> gi = g, gf = g[n], gg = g[2 * n], go = g[3 * n];
    const LocalTensor<float> c = st, cPrev = st[n], hPrev = st[2 * n], dy = st[3 * n];
    const LocalTensor<float> dh = st[4 * n], dc = st[5 * n];
    const LocalTensor<float> dhT = tmp, tc = tmp[n], dcT = tmp[2 * n], u = tmp[3 * n];
    Add(dhT, dh, dy, n);
    Tanh(tc, c, uint32_t(n));
    Mul(dcT, tc, tc, n);  // 1 - tanh(c)^2
    OneMinus(dcT, dcT, n);
    Mul(u, dhT, go, n);
    Mul(u, u, dcT, n);
    Add(dcT, dc, u, n);  // dc'
    Mul(out, dcT, gg, n);
    Mul(out, out, gi, n);
    OneMinus(u, gi, n);
    Mul(out, out, u, n);  // dz_i
    Mul(out[n], dcT, cPrev, n);
    Mul(out[n], out[n], gf, n);
    OneMinus(u, gf, n);
    Mul(out[n], out[n], u, n);  // dz_f
    Mul(out[2 * n], dcT, gi, n);
    Mul(u, gg, gg, n);
    OneMinus(u, u, n);
    Mul(out[2 * n], out[2 * n], u, n);  // dz_g
    Mul(out[3 * n], dhT, tc, n);
    Mul(out[3 * n], out[3 * n], go, n);
    OneMinus(u, go, n);
    Mul(out[3 * n], out[3 * n], u, n);  // dz_o
    Mul(out[4 * n], dcT, gf, n);        // dc_prev
    DataCopy(out[5 * n], hPrev, uint32_t(n));
    oQue.EnQue(out);
    gQue.FreeTensor(g);
    sQue.FreeTensor(st);
  }

  __aicore__ inline void OneMinus(const LocalTensor<float> &dst, const LocalTensor<float> &src,
                                  int32_t n) {
    Muls(dst, src, -1.0f, n);
    Adds(dst, dst, 1.0f, n);
  }

  __aicore__ inline void CopyOut(uint32_t r0, uint32_t rows, uint32_t s, int64_t t) {
    const uint32_t n = rows * tl.Hp, H4 = tl.H * sizeof(float);
    LocalTensor<float> out = oQue.DeQue<float>();
    if (t >= 0) {
      const uint64_t row = uint64_t(t) * tl.B + r0;
      const DataCopyExtParams gateCols(uint16_t(rows), H4, 0, 3 * H4, 0);
      const DataCopyExtParams rowsOf(uint16_t(rows), H4, 0, 0, 0);
      for (uint32_t k = 0; k < 4; ++k) {
        DataCopyPad(dzD[row * tl.G + k * tl.H], out[k * n], gateCols);
        DataCopyPad(zsD[uint64_t(r0) * tl.G + k * tl.H], out[k * n], gateCols);
      }
      DataCopyPad(stateDc[uint64_t(r0) * tl.H], out[4 * n], rowsOf);
      DataCopyPad(hprevD[row * tl.H], out[5 * n], rowsOf);
      DataCopyPad(stateDh[uint64_t(r0) * tl.H], zeros, rowsOf);  // the cube adds dz W_hh
    } else {
      const DataCopyExtParams one(1, H4, 0, 0, 0);
      const DataCopyExtParams gates(4, H4, (rows - 1) * tl.Hp * sizeof(float) / 32, 0, 0);
      for (uint32_t r = 0; r < rows; ++r) {
        const uint32_t b = r0 + r, o = r * tl.Hp;
        const int64_t tb = Frame(b, s);
        if (tb < 0) {
          WriteInactive(b, s, true);
          continue;
        }
        const uint64_t row = uint64_t(tb) * tl.B + b;
        DataCopyPad(dzD[row * tl.G], out[o], gates);
        DataCopyPad(zsD[uint64_t(b) * tl.G], out[o], gates);
        DataCopyPad(stateDc[uint64_t(b) * tl.H], out[4 * n + o], one);
        DataCopyPad(hprevD[row * tl.H], out[5 * n + o], one);
        DataCopyPad(stateDh[uint64_t(b) * tl.H], zeros, one);
      }
    }
    oQue.FreeTensor(out);
  }

  // Sample b at step s is past its length: zero dz and h_prev at frame s; with `step`, zero
  // step rows (its dh then gains nothing from the cube).
  __aicore__ inline void WriteInactive(uint32_t b, uint32_t s, bool step) {
    const uint32_t H4 = tl.H * sizeof(float);
    const uint64_t row = uint64_t(s) * tl.B + b;
    DataCopyPad(dzD[row * tl.G], zeros, DataCopyExtParams(4, H4, 0, 0, 0));
    DataCopyPad(hprevD[row * tl.H], zeros, DataCopyExtParams(1, H4, 0, 0, 0));
    if (step) DataCopyPad(zsD[uint64_t(b) * tl.G], zeros, DataCopyExtParams(4, H4, 0, 0, 0));
  }

  // Phase B for direction d (cube only).
  __aicore__ inline void WeightGrads(uint32_t l, uint32_t d, const GlobalTensor<float> &in,
                                     uint32_t inSize, const GlobalTensor<float> &din) {
    const uint64_t TB = uint64_t(tl.T) * tl.B;
    const int tb = int(TB), G = int(tl.G), H = int(tl.H), K = int(inSize);
    const GlobalTensor<float> dz = dzGm[uint64_t(d) * TB * tl.G];
    const uint64_t r0 = uint64_t(GetBlockIdx()) * tl.gRows;
    if (r0 < tl.G) {
      const int rows = int(tl.G - r0 < tl.gRows ? tl.G - r0 : tl.gRows);
      dwMM.SetOrgShape(G, H, tb, tb);
      dwMM.SetSingleShape(int(tl.gRows), H, tb);
      dwMM.SetTensorA(dz[r0], true);
      dwMM.SetTensorB(hprevGm[uint64_t(d) * TB * tl.H], false);
      dwMM.SetTail(rows, H, tb);
      dwMM.IterateAll(Param(l, d, 5, uint64_t(G) * H)[r0 * H]);
      dwMM.SetOrgShape(G, K, tb, tb);
      dwMM.SetSingleShape(int(tl.gRows), K, tb);
      dwMM.SetTensorA(dz[r0], true);
      dwMM.SetTensorB(in, false);
      dwMM.SetTail(rows, K, tb);
      dwMM.IterateAll(Param(l, d, 4, uint64_t(G) * K)[r0 * K]);
      if (tl.hasBias) {  // column sums: ones (1, T*B) x dz (T*B, 4H)
        dwMM.SetOrgShape(1, G, tb, tb);
        dwMM.SetSingleShape(1, int(tl.gRows), tb);
        dwMM.SetTensorA(onesGm, false);
        dwMM.SetTensorB(dz[r0], false);
        dwMM.SetTail(1, rows, tb);
        dwMM.IterateAll(Param(l, d, 6, G)[r0]);
        dwMM.IterateAll(Param(l, d, 7, G)[r0]);
      }
      dwMM.End();
    }
    const uint64_t m0 = uint64_t(GetBlockIdx()) * tl.projRows;
    if (m0 < TB) {
      const int rows = int(TB - m0 < tl.projRows ? TB - m0 : tl.projRows);
      dxMM.SetOrgShape(tb, K, G, G);
      dxMM.SetSingleShape(int(tl.projRows), K, G);
      dxMM.SetTensorA(dz[m0 * tl.G], false);
      dxMM.SetTensorB(Param(l, d, 0, uint64_t(G) * K), false);
      dxMM.SetTail(rows, K, G);
      dxMM.IterateAll(din[m0 * inSize], d == 0 ? 0 : 1);
      dxMM.End();
    }
  }

  __aicore__ inline void CopyRows(const GlobalTensor<float> &dst, const GlobalTensor<float> &src,
                                  bool hasSrc, uint64_t srcOff, uint32_t b0, uint32_t b1) {
    CopyStateRows(sQue, dst, src, hasSrc, srcOff, b0, b1, tl.H, tl.Hp, tl.rowsPerTile);
  }

  LstmBackwardTiling tl;
  TPipe pipe;
  LstmMatmul dhMM, dwMM, dxMM;
  TQue<TPosition::VECIN, BUFFER_NUM> gQue, sQue;
  TQue<TPosition::VECOUT, BUFFER_NUM> oQue;
  TBuf<TPosition::VECCALC> tmpBuf, zeroBuf, onesBuf, lenBuf;
  LocalTensor<float> zeros;
  LocalTensor<int32_t> lens;
  GlobalTensor<float> dxGm, dyGm, xGm, yGm, dh0Gm, dc0Gm, dhNGm, dcNGm, h0Gm, c0Gm, reserveGm;
  GlobalTensor<float> onesGm, dzGm, zsGm, dhGm, dcGm, hprevGm, bufGm[2];
  GlobalTensor<float> outGm, doutGm, gatesGm, cellsGm, dzD, hprevD, zsD, stateDh, stateDc;
  GlobalTensor<int32_t> seqGm;
  GlobalTensor<uint64_t> recordGm;
  __gm__ float *wBase = nullptr, *dwBase = nullptr;  // flat (co)parameters: tl.weights
  uint32_t dir = 0;
  uint64_t idx = 0;
};

}  // namespace

// The op CrnnLstmBackward (op_host/lstm_backward.cpp): the aot entry's inputs x, h0, c0,
// seq_length, config (unused here), weights (flat) as the forward's, then y, reserve, dy
// (T, B, D*H), dh_n, dc_n (L*D, B, H); outputs dx (T, B, I), dh0, dc0 (L*D, B, H), dweights
// (the weights' layout), error (the 64-bit record: core 0 writes it, all ones = none);
// workspace, tiling. On the API model dh_n / dc_n / dh0 / dc0 may be NULL (tiling has* = 0).
extern "C" __global__ __aicore__ void crnn_lstm_backward(
    GM_ADDR x, GM_ADDR h0, GM_ADDR c0, GM_ADDR seqLength, GM_ADDR config, GM_ADDR weights,
    GM_ADDR y, GM_ADDR reserve, GM_ADDR dy, GM_ADDR dhN, GM_ADDR dcN, GM_ADDR dx, GM_ADDR dh0,
    GM_ADDR dc0, GM_ADDR dweights, GM_ADDR error, GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
  GET_TILING_DATA(t, tiling);
  (void)config;
  KernelLstmBackward op;
  op.Init(dx, dh0, dc0, dweights, dy, dhN, dcN, x, y, h0, c0, seqLength, reserve, weights, error,
          workspace, t);
  op.Process();
}
