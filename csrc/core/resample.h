// Polyphase FIR resampling by a rational factor up/down, one-shot and streaming.
#pragma once

#include <cstdint>
#include <vector>

namespace ttsengine {

// Output i of a signal x (zero outside [0, n_in)) is, with t = half + i * down and
// half = (taps - 1) / 2:
//   y[i] = up * sum_n x[n] * h[t - n * up]      (terms with 0 <= t - n * up < taps)
// which is scipy.signal.resample_poly(x, up, down, window=h) for coprime up, down.
// Only the taps of phase t % up are visited. Products are summed in float over eight
// fixed lanes, so a given output is bit-identical however the input was chunked.
class PolyphaseFilter {
 public:
  // taps: the odd-length FIR at the upsampled rate. Throws std::invalid_argument.
  PolyphaseFilter(int64_t up, int64_t down, const float* taps, int64_t num_taps);

  int64_t up() const { return up_; }
  int64_t down() const { return down_; }
  int64_t half() const { return half_; }
  // Taps per output (a multiple of the lane count): inputs each output reads.
  int64_t width() const { return width_; }
  // ceil(n_in * up / down).
  int64_t output_length(int64_t n_in) const;
  // Index of the newest input that output i reads.
  int64_t newest_input(int64_t i) const { return (half_ + i * down_) / up_; }
  // Outputs [i_begin, i_end) of a signal whose samples [x_first, x_end) (absolute
  // indices) are at x; every other sample is zero.
  void compute(const float* x, int64_t x_first, int64_t x_end, int64_t i_begin, int64_t i_end,
               float* out) const;

 private:
  int64_t up_;
  int64_t down_;
  int64_t half_;
  int64_t width_;
  std::vector<float> phases_;  // [up, width]: phase p's taps, scaled by up, oldest first
};

// Streaming state over a PolyphaseFilter: push() emits the outputs whose inputs have all
// arrived, flush() the zero-padded rest. Together they equal one compute() of the whole
// signal, bit for bit.
class PolyphaseStream {
 public:
  explicit PolyphaseStream(const PolyphaseFilter& filter) : filter_(filter) {}
  PolyphaseStream(const PolyphaseStream&) = delete;
  PolyphaseStream& operator=(const PolyphaseStream&) = delete;

  // Outputs the next push of n inputs returns / the next flush returns.
  int64_t push_count(int64_t n) const;
  int64_t flush_count() const;
  // Upper bound of push_count(n) and (for n = 0) flush_count() in any state.
  int64_t max_output(int64_t n) const;
  // Makes room for n more inputs; the history grows only when it is too small. Called
  // by push(); separate so that a caller can allocate before releasing a lock.
  void reserve(int64_t n);
  // Appends x[0, n) and writes the push_count(n) outputs now final to out.
  int64_t push(const float* x, int64_t n, float* out);
  // Writes the remaining flush_count() outputs and starts a new signal.
  int64_t flush(float* out);
  void reset();

 private:
  void drop_consumed();

  const PolyphaseFilter& filter_;
  std::vector<float> history_;  // inputs [base_, total_) at history_[0, total_ - base_)
  int64_t base_ = 0;
  int64_t total_ = 0;
  int64_t emitted_ = 0;
};

}  // namespace ttsengine
