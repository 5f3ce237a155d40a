// The native inference program (infer_net.h): shapes are derived per call from (B, H, W), each
// step runs the CPU backend's kernels (conv_forward.h, crnn_cpu_lstm_forward_f32, the blas.h
// GEMM, crnn_cpu_ctc_greedy_f32) on buffers owned by the net.
#include "infer_net.h"

#include <math.h>
#include <string.h>

#include <chrono>
#include <stdexcept>

#include "blas.h"
#include "conv2d_winograd.h"
#include "conv_forward.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "lstm_packed.h"

namespace crnn {
namespace cpu {
namespace infer {
namespace {

[[noreturn]] void bad(const std::string &what) {
  throw std::invalid_argument(what);
}

void check(crnn_status_t st, const std::string &step) {
  if (st != CRNN_STATUS_SUCCESS)
    throw std::runtime_error("native inference: " + step + " failed: " + crnn_status_string(st));
}

// MindSpore's 'same' pooling: ceil(n / s) outputs, the padding's extra cell at the end.
int64_t same_out(int64_t n, int64_t s) {
  return (n + s - 1) / s;
}
int64_t same_pad_before(int64_t n, int64_t k, int64_t s) {
  const int64_t total = (same_out(n, s) - 1) * s + k - n;
  return total > 0 ? total / 2 : 0;
}

bool direct(const crnn_conv_block_desc &d) {
  return d.pool_kh == 0 && !d.residual;
}

}  // namespace

void Net::check_slot(int in, int out, const char *what) {
  if (in < 0 || in >= slots_)
    bad(std::string(what) + ": input slot " + std::to_string(in) +
        " is not written by an earlier step");
  if (out < 1 || out > slots_ || out == in)
    bad(std::string(what) + ": output slot " + std::to_string(out) + " must be a slot in [1, " +
        std::to_string(slots_) + "] other than the input");
  if (out == slots_) ++slots_;
  last_ = out;
}

void Net::add_conv(int in, int out, int res, const float *w, const float *b, int64_t C_out,
                   int64_t C_in, int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w,
                   const int64_t pads[4], bool relu, int64_t pool_kh, int64_t pool_kw,
                   int64_t pool_sh, int64_t pool_sw) {
  if (res >= slots_ || res == out || res < -1) bad("conv: bad residual slot");
  if (res >= 0 && pool_kh > 0) bad("conv: a residual block has no pool");
  if (C_out < 1 || C_in < 1 || kh < 1 || kw < 1 || stride_h < 1 || stride_w < 1)
    bad("conv: sizes and strides must be >= 1");
  for (int i = 0; i < 4; ++i)
    if (pads[i] < 0) bad("conv: paddings must be >= 0");
  if (pool_kh < 0 || (pool_kh > 0 && (pool_kw < 1 || pool_sh < 1 || pool_sw < 1)))
    bad("conv: pool window and strides must be >= 1");
  if (steps_.empty()) C_in_ = C_in;
  check_slot(in, out, "conv");
  Conv c;
  c.in = in, c.out = out, c.res = res;
  crnn_conv_block_desc &d = c.d;
  memset(&d, 0, sizeof d);
  d.conv = crnn_conv2d_desc{1,        C_in,     1,       1,       C_out,           kh,      kw,
                            stride_h, stride_w, pads[0], pads[1], pads[2],         pads[3], 1,
                            1,        1,        0,       0,       CRNN_DEVICE_CPU, nullptr};
  d.residual = res >= 0, d.relu = relu;
  d.pool_kh = pool_kh, d.pool_kw = pool_kw, d.pool_sh = pool_sh, d.pool_sw = pool_sw;
  d.pool_same = 1;
  if (direct(d)) d.conv.relu = relu;  // fused into the conv's epilogue
  c.w.assign(w, w + C_out * C_in * kh * kw);
  c.b.assign(b, b + C_out);
  convs_.push_back(std::move(c));
  steps_.push_back({true, convs_.size() - 1, "conv" + std::to_string(convs_.size())});
}

void Net::add_pool(int in, int out, bool average, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
  if (steps_.empty()) bad("pool: the program starts with a conv");
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1) bad("pool: window and strides must be >= 1");
  check_slot(in, out, "pool");
  pools_.push_back({in, out, average, kh, kw, sh, sw});
  steps_.push_back({false, pools_.size() - 1, "pool" + std::to_string(pools_.size())});
}

void Net::set_lstm(int64_t H, int32_t layers, bool bidirectional,
                   const std::vector<const float *> &w_ih, const std::vector<const float *> &w_hh,
                   const std::vector<const float *> &b_ih, const std::vector<const float *> &b_hh,
                   int64_t input_size) {
  const int64_t D = bidirectional ? 2 : 1;
  if (H < 1 || layers < 1 || input_size < 1) bad("lstm: H, layers and input size must be >= 1");
  const size_t n = static_cast<size_t>(layers * D);
  if (w_ih.size() != n || w_hh.size() != n || b_ih.size() != n || b_hh.size() != n)
    bad("lstm: need one w_ih, w_hh, b_ih, b_hh per layer and direction");
  H_ = H, layers_ = layers, bidirectional_ = bidirectional, F_ = D * H, I_ = input_size;
  lstm_w_.clear();
  w_ih_.clear(), w_hh_.clear(), b_ih_.clear(), b_hh_.clear();
  for (size_t i = 0; i < n; ++i) {
    const int64_t I = i < static_cast<size_t>(D) ? input_size : D * H;
    lstm_w_.emplace_back(w_ih[i], w_ih[i] + 4 * H * I);
    lstm_w_.emplace_back(w_hh[i], w_hh[i] + 4 * H * H);
    lstm_w_.emplace_back(b_ih[i], b_ih[i] + 4 * H);
    lstm_w_.emplace_back(b_hh[i], b_hh[i] + 4 * H);
  }
  for (size_t i = 0; i < n; ++i) {
    w_ih_.push_back(lstm_w_[4 * i].data()), w_hh_.push_back(lstm_w_[4 * i + 1].data());
    b_ih_.push_back(lstm_w_[4 * i + 2].data()), b_hh_.push_back(lstm_w_[4 * i + 3].data());
  }
}

void Net::set_head(const float *w, const float *b, int64_t K, int64_t F) {
  if (K < 1 || F < 1) bad("head: sizes must be >= 1");
  if (F_ && F != F_) bad("head: its input size must be the LSTM's output size");
  K_ = K;
  head_w_.assign(w, w + K * F);
  head_b_.assign(b, b + K);
}

int64_t Net::input_channels() const {
  return C_in_;
}

void Net::name_last(const std::string &name) {
  if (steps_.empty()) bad("name_last: no step yet");
  steps_.back().name = name;
}

// Profiling: the time since the previous mark, under `name`.
void Net::mark(const std::string &name) {
  if (!profiling_) return;
  const double now =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  if (!name.empty()) profile_.emplace_back(name, now - mark_);
  mark_ = now;
}

// The input and output shape of every step for an input (B, C_in, H, W); the last one's
// output is the features'.
std::vector<Net::Io> Net::shapes(int64_t B, int64_t H, int64_t W) const {
  std::vector<Shape> s(slots_);  // each slot's current shape while walking the steps
  std::vector<Io> io;
  s[0] = {C_in_, H, W};
  for (const Step &st : steps_) {
    if (st.conv) {
      const Conv &c = convs_[st.index];
      crnn_conv_block_desc d = c.d;
      if (s[c.in].C != d.conv.C_in)
        bad("conv: input of " + std::to_string(s[c.in].C) + " channels, expected " +
            std::to_string(d.conv.C_in));
      d.conv.B = B, d.conv.H = s[c.in].H, d.conv.W = s[c.in].W;
      const int64_t Ho = crnn_conv2d_out_h(&d.conv), Wo = crnn_conv2d_out_w(&d.conv);
      if (Ho < 1 || Wo < 1)
        bad("the input is too small: a conv gets a " + std::to_string(d.conv.H) + "x" +
            std::to_string(d.conv.W) + " plane");
      if (c.res >= 0 && (s[c.res].C != d.conv.C_out || s[c.res].H != Ho || s[c.res].W != Wo))
        bad("conv: the residual's shape differs from the conv output's");
      io.push_back({s[c.in], {d.conv.C_out, crnn_conv_block_out_h(&d), crnn_conv_block_out_w(&d)}});
      s[c.out] = io.back().out;
    } else {
      const Pool &p = pools_[st.index];
      io.push_back({s[p.in], {s[p.in].C, same_out(s[p.in].H, p.sh), same_out(s[p.in].W, p.sw)}});
      s[p.out] = io.back().out;
    }
  }
  const Shape &f = io.back().out;
  if (f.H != 1)
    bad("the backbone's output height is " + std::to_string(f.H) +
        ", must be 1 (the input height the model was trained at)");
  if (I_ && f.C != I_)
    bad("the backbone's output has " + std::to_string(f.C) + " channels, the LSTM takes " +
        std::to_string(I_));
  return io;
}

void Net::check_input(int64_t B, int64_t H, int64_t W) const {
  if (steps_.empty() || !I_ || !K_) bad("the net is incomplete (conv, lstm and head needed)");
  if (B < 1) bad("the batch must hold >= 1 image");
  if (H < 1 || W < 1) bad("the input's height and width must be >= 1");
}

int64_t Net::frames(int64_t H, int64_t W) const {
  check_input(1, H, W);
  return shapes(1, H, W).back().out.W;
}

float *Net::slot(int i, size_t floats) {
  if (slot_.size() < static_cast<size_t>(slots_)) slot_.resize(slots_);
  if (slot_[i].size() < floats) slot_[i].resize(floats);
  return slot_[i].data();
}

void *Net::workspace(size_t bytes) {
  if (workspace_.size() < bytes) workspace_.resize(bytes);
  return workspace_.data();
}

void Net::run_conv(Conv &c, const Io &io, int64_t B) {
  crnn_conv_block_desc &d = c.d;
  d.conv.B = B, d.conv.H = io.in.H, d.conv.W = io.in.W;
  const Shape &o = io.out;
  float *y = slot(c.out, static_cast<size_t>(B * o.C * o.H * o.W));
  const float *x = c.in == 0 ? x_ : slot_[c.in].data();
  const float *r = c.res < 0 ? nullptr : c.res == 0 ? x_ : slot_[c.res].data();
  const float *U = nullptr, *UP = nullptr;
  if (winograd::eligible(&d.conv)) {  // transformed once per variant: U, or the narrow panels
    const bool narrow = winograd::narrow(&d.conv);
    auto &cache = narrow ? c.panels : c.transformed;
    std::vector<float> &u = cache[winograd::variant(&d.conv)];
    if (u.empty()) {
      u.resize(winograd::transformed_weights_size(&d.conv));
      winograd::transform_forward_weights(u.data(), c.w.data(), &d.conv);
      if (narrow) {
        std::vector<float> plain(u);
        winograd::pack_forward_panels(u.data(), plain.data(), &d.conv);
      }
    }
    (narrow ? UP : U) = u.data();
  }
  if (direct(d)) {
    const size_t bytes = crnn_cpu_conv2d_forward_workspace_size(&d.conv);
    check(conv2d_forward(y, x, c.w.data(), U, UP, c.b.data(), &d.conv, workspace(bytes), bytes),
          "conv");
    return;
  }
  const size_t bytes = crnn_cpu_conv_block_forward_workspace_size(&d);
  const size_t zn = static_cast<size_t>(B * d.conv.C_out * crnn_conv2d_out_h(&d.conv) *
                                        crnn_conv2d_out_w(&d.conv));
  if (z_.size() < zn) z_.resize(zn);
  check(conv_block_forward(y, z_.data(), x, c.w.data(), U, UP, c.b.data(), r, &d, workspace(bytes),
                           bytes),
        "conv block");
}

void Net::run_pool(const Pool &p, const Io &io, int64_t B) {
  const Shape &i = io.in, &o = io.out;
  float *y = slot(p.out, static_cast<size_t>(B * o.C * o.H * o.W));
  const float *x = p.in == 0 ? x_ : slot_[p.in].data();
  const int64_t pt = same_pad_before(i.H, p.kh, p.sh), pl = same_pad_before(i.W, p.kw, p.sw);
  parallel_for(max_threads(), B * i.C, false, [&](int64_t u, int) {
    const float *a = x + u * i.H * i.W;
    float *out = y + u * o.H * o.W;
    for (int64_t r = 0; r < o.H; ++r) {
      const int64_t h0 = r * p.sh - pt > 0 ? r * p.sh - pt : 0;
      const int64_t h1 = r * p.sh - pt + p.kh < i.H ? r * p.sh - pt + p.kh : i.H;
      for (int64_t q = 0; q < o.W; ++q) {
        const int64_t w0 = q * p.sw - pl > 0 ? q * p.sw - pl : 0;
        const int64_t w1 = q * p.sw - pl + p.kw < i.W ? q * p.sw - pl + p.kw : i.W;
        float acc = p.average ? 0.0f : a[h0 * i.W + w0];
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const float v = a[h * i.W + w];
            acc = p.average ? acc + v : (v > acc ? v : acc);
          }
        out[r * o.W + q] = p.average ? acc / static_cast<float>((h1 - h0) * (w1 - w0)) : acc;
      }
    }
  });
}

// Runs the backbone; returns the output frames T.
int64_t Net::run_backbone(const float *x, int64_t B, int64_t H, int64_t W) {
  check_input(B, H, W);
  x_ = x;
  const std::vector<Io> io = shapes(B, H, W);
  profile_.clear();
  mark("");
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].conv)
      run_conv(convs_[steps_[i].index], io[i], B);
    else
      run_pool(pools_[steps_[i].index], io[i], B);
    mark(steps_[i].name);
  }
  return io.back().out.W;
}

// Sequence, LSTM and head after run_backbone; returns probs (B, T, K) (the caller's or ours).
float *Net::run_tail(float *probs, int64_t B, int64_t T, int64_t C) {
  const float *f = last_ == 0 ? x_ : slot_[last_].data();  // (B, C, 1, T)
  if (seq_.size() < static_cast<size_t>(T * B * C)) seq_.resize(T * B * C);
  parallel_for(max_threads(), B, false, [&](int64_t b, int) {
    for (int64_t c = 0; c < C; ++c) {
      const float *row = f + (b * C + c) * T;
      for (int64_t t = 0; t < T; ++t) seq_[(t * B + b) * C + c] = row[t];
    }
  });
  mark("sequence");
  const crnn_lstm_desc ld{T, B, C, H_, layers_, bidirectional_, 1, 0, CRNN_DEVICE_CPU, nullptr};
  const crnn_lstm_weights_f32 lw{w_ih_.data(), w_hh_.data(), b_ih_.data(), b_hh_.data()};
  const size_t LDBH = static_cast<size_t>(layers_ * (bidirectional_ ? 2 : 1) * B * H_);
  if (rnn_.size() < static_cast<size_t>(T * B * F_)) rnn_.resize(T * B * F_);
  if (state_.size() < 2 * LDBH) state_.resize(2 * LDBH);
  const int64_t D = bidirectional_ ? 2 : 1;
  if (panel_form_ != lstm_panel_form()) {  // first call, or another matmul precision
    panels_.assign(layers_, std::vector<float>(lstm_panels_size(H_, D)));
    panel_ptrs_.clear();
    for (int32_t l = 0; l < layers_; ++l) {
      lstm_pack_layer(panels_[l].data(), &lw, l, D, H_);
      panel_ptrs_.push_back(panels_[l].data());
    }
    panel_form_ = lstm_panel_form();
  }
  const size_t bytes = crnn_cpu_lstm_forward_workspace_size(&ld);
  check(
      lstm_forward(rnn_.data(), state_.data(), state_.data() + LDBH, nullptr, seq_.data(), nullptr,
                   nullptr, nullptr, &lw, &ld, workspace(bytes), bytes, panel_ptrs_.data()),
      "lstm");
  mark("lstm");
  if (!probs) {
    if (probs_.size() < static_cast<size_t>(B * T * K_)) probs_.resize(B * T * K_);
    probs = probs_.data();
  }
  if (z_.size() < static_cast<size_t>(T * B * K_)) z_.resize(T * B * K_);
  float *logits = z_.data();
  set_blas_threads(1);
  parallel_for(max_threads(), T, false, [&](int64_t t, int) {
    float *lg = logits + t * B * K_;
    gemm(false, true, B, K_, F_, rnn_.data() + t * B * F_, F_, head_w_.data(), F_, 0.0f, lg, K_);
    for (int64_t b = 0; b < B; ++b) {
      float *row = lg + b * K_, *p = probs + (b * T + t) * K_;
      float m = -INFINITY;
      for (int64_t k = 0; k < K_; ++k) m = fmaxf(m, row[k] + head_b_[k]);
      float sum = 0.0f;
      for (int64_t k = 0; k < K_; ++k) sum += p[k] = expf(row[k] + head_b_[k] - m);
      for (int64_t k = 0; k < K_; ++k) p[k] /= sum;
    }
  });
  mark("head");
  return probs;
}

void Net::forward(float *probs, const float *x, int64_t B, int64_t H, int64_t W) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t T = run_backbone(x, B, H, W);
  run_tail(probs, B, T, I_);
}

void Net::recognize(int32_t *ids, int32_t *lengths, float *char_probs, int32_t *char_frames,
                    float *probs, const float *x, int64_t B, int64_t H, int64_t W, int32_t blank) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (blank < 0 || blank >= K_) bad("blank must be a class index in [0, classes)");
  const int64_t T = run_backbone(x, B, H, W);
  const float *p = run_tail(probs, B, T, I_);
  crnn_ctc_decode_options opt;
  memset(&opt, 0, sizeof opt);
  opt.blank = blank, opt.input_kind = CRNN_CTC_PROBS, opt.batch_first = 1;
  opt.beam_width = 1, opt.top_n = 1, opt.logp_cutoff = -INFINITY, opt.device = CRNN_DEVICE_CPU;
  const size_t bytes = crnn_cpu_ctc_greedy_workspace_size(T, B, K_, &opt);
  check(crnn_cpu_ctc_greedy_f32(ids, lengths, char_probs, char_frames, p, nullptr, T, B, K_,
                                workspace(bytes), bytes, &opt),
        "greedy decoding");
  mark("decode");
}

}  // namespace infer
}  // namespace cpu
}  // namespace crnn
