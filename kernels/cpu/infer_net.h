// The whole eval-mode CRNN as one call: crnn_fast's native inference path (CPU).
//
// A net is a program built once from folded weights (BatchNorm already in the conv weights and
// biases, crnn_fast/infer/native.py builds it):
//   backbone  conv blocks (conv + bias [+ residual] [ReLU] [max-pool]) and standalone pools over
//             numbered activation slots, NCHW; slot 0 is the input x (B, C_in, H, W)
//   sequence  the last slot (B, C, 1, T) read as T frames: (T, B, C), time-major
//   neck      a (bi)directional LSTM stack (crn/lstm.h's weights and gate order), zero state
//   head      logits (T, B, K) = seq W^T + b, softmax over the K classes -> probs (B, T, K)
//   decode    greedy CTC over probs (crnn/ctc_decode.h): ids, per-id probability and frame
// Weights are copied in at build time; a Winograd layer's weights are transformed at the first
// call of each input shape and cached. Activations live in slots and one workspace that only
// grow, so a call of a shape seen before allocates nothing. Calls on one net are serialised by
// its mutex; the kernels inside use the CPU thread pool (thread_pool.h).
//
// Errors: building with inconsistent shapes or slots, or running with an input whose shape the
// program cannot take (channels, a feature height other than 1), throws std::invalid_argument
// with the reason; a kernel's failure throws std::runtime_error naming the step and status.
#pragma once

#include <stdint.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "crnn/conv_block.h"

namespace crnn {
namespace cpu {
namespace infer {

class Net {
 public:
  // A conv block from slot `in` to slot `out` (a new slot or a free one; never `in`), plus slot
  // `res` (-1: none) before the ReLU. w (C_out, C_in, kh, kw), b (C_out); pads top, bottom,
  // left, right; pool_kh 0: no pool, else a max-pool with MindSpore's 'same' padding.
  void add_conv(int in, int out, int res, const float *w, const float *b, int64_t C_out,
                int64_t C_in, int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w,
                const int64_t pads[4], bool relu, int64_t pool_kh, int64_t pool_kw, int64_t pool_sh,
                int64_t pool_sw);
  // A max- or average-pool (MindSpore's 'same' padding; an average counts the cells inside
  // the plane only) from slot `in` to slot `out`.
  void add_pool(int in, int out, bool average, int64_t kh, int64_t kw, int64_t sh, int64_t sw);
  // The LSTM stack reading the backbone's last slot: per layer l and direction d at l*D + d,
  // w_ih (4H, I_l), w_hh (4H, H), b_ih, b_hh (4H); I_0 = the features' channels, I_l = D H.
  void set_lstm(int64_t H, int32_t layers, bool bidirectional,
                const std::vector<const float *> &w_ih, const std::vector<const float *> &w_hh,
                const std::vector<const float *> &b_ih, const std::vector<const float *> &b_hh,
                int64_t input_size);
  // The head: w (K, F), b (K), F = the LSTM's D H.
  void set_head(const float *w, const float *b, int64_t K, int64_t F);

  // Names the step added last (for profiles).
  void name_last(const std::string &name);
  // While on, each call records every step's wall time: (name, milliseconds), in order.
  void set_profiling(bool on) { profiling_ = on; }
  std::vector<std::pair<std::string, double>> last_profile() const { return profile_; }

  int64_t classes() const { return K_; }
  int64_t input_channels() const;
  // The output frames T for inputs (H, W); throws std::invalid_argument as a run would.
  int64_t frames(int64_t H, int64_t W) const;

  // probs (B, T, K) of x (B, C_in, H, W).
  void forward(float *probs, const float *x, int64_t B, int64_t H, int64_t W);
  // forward, then greedy decoding: ids, char_probs, char_frames (B, T) padded with -1 / 0 / -1,
  // lengths (B). probs may be NULL (kept internal).
  void recognize(int32_t *ids, int32_t *lengths, float *char_probs, int32_t *char_frames,
                 float *probs, const float *x, int64_t B, int64_t H, int64_t W, int32_t blank);

 private:
  struct Conv {
    int in, out, res;
    crnn_conv_block_desc d;  // B, H, W set per call
    std::vector<float> w, b;
    std::map<const void *, std::vector<float>> transformed;  // Winograd variant -> U
    std::map<const void *, std::vector<float>> panels;       // the same packed for batch 1
  };
  struct Pool {
    int in, out;
    bool average;
    int64_t kh, kw, sh, sw;
  };
  struct Step {
    bool conv;
    size_t index;
    std::string name;
  };
  struct Shape {
    int64_t C = 0, H = 0, W = 0;
  };
  struct Io {
    Shape in, out;
  };

  void check_slot(int in, int out, const char *what);
  void check_input(int64_t B, int64_t H, int64_t W) const;
  std::vector<Io> shapes(int64_t B, int64_t H, int64_t W) const;
  int64_t run_backbone(const float *x, int64_t B, int64_t H, int64_t W);
  void run_conv(Conv &c, const Io &io, int64_t B);
  void run_pool(const Pool &p, const Io &io, int64_t B);
  float *run_tail(float *probs, int64_t B, int64_t T, int64_t C);
  float *slot(int i, size_t floats);
  void *workspace(size_t bytes);
  void mark(const std::string &name);

  std::vector<Conv> convs_;
  std::vector<Pool> pools_;
  std::vector<Step> steps_;
  int slots_ = 1, last_ = 0;
  int64_t C_in_ = 0;

  int64_t H_ = 0, F_ = 0, I_ = 0, K_ = 0;
  int32_t layers_ = 0;
  bool bidirectional_ = false;
  std::vector<std::vector<float>> lstm_w_;  // per layer and direction: w_ih, w_hh, b_ih, b_hh
  std::vector<const float *> w_ih_, w_hh_, b_ih_, b_hh_;
  std::vector<float> head_w_, head_b_;
  std::vector<std::vector<float>> panels_;  // per layer: W_hh packed (lstm_packed.h)
  std::vector<const float *> panel_ptrs_;
  int panel_form_ = -1;

  std::mutex mutex_;
  std::vector<std::vector<float>> slot_;
  std::vector<float> z_, seq_, rnn_, state_, probs_;
  std::vector<char> workspace_;
  const float *x_ = nullptr;  // the current call's input (slot 0)
  bool profiling_ = false;
  std::vector<std::pair<std::string, double>> profile_;
  double mark_ = 0.0;
};

}  // namespace infer
}  // namespace cpu
}  // namespace crnn
