#include "resample.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ttsengine {
namespace {

constexpr int64_t kLanes = 8;  // independent partial sums: vectorisable, fixed order

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b > 0 ? 1 : 0); }

float sum_lanes(const float* acc) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// sum_j x[j] * h[j] over j < width (a multiple of kLanes), lane j % kLanes.
float dot(const float* x, const float* h, int64_t width) {
  float acc[kLanes] = {};
  for (int64_t j = 0; j < width; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += x[j + l] * h[j + l];
  }
  return sum_lanes(acc);
}

// As dot() for the window of absolute inputs [start, start + width), reading zero outside
// the available [x_first, x_end): same lanes and order, so the same value where both apply.
float dot_clipped(const float* x, int64_t x_first, int64_t x_end, int64_t start,
                  const float* h, int64_t width) {
  float acc[kLanes] = {};
  for (int64_t j = 0; j < width; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const int64_t n = start + j + l;
      const float value = (n >= x_first && n < x_end) ? x[n - x_first] : 0.0f;
      acc[l] += value * h[j + l];
    }
  }
  return sum_lanes(acc);
}

}  // namespace

PolyphaseFilter::PolyphaseFilter(int64_t up, int64_t down, const float* taps,
                                 int64_t num_taps)
    : up_(up), down_(down) {
  if (up < 1 || down < 1) throw std::invalid_argument("up and down must be >= 1");
  if (up == down) throw std::invalid_argument("up == down: there is nothing to resample");
  if (std::gcd(up, down) != 1) {
    throw std::invalid_argument("up and down must be coprime (divide both by their gcd), got " +
                                std::to_string(up) + "/" + std::to_string(down));
  }
  if (num_taps < 1 || num_taps % 2 == 0) {
    throw std::invalid_argument("taps must have an odd length, got " + std::to_string(num_taps));
  }
  half_ = (num_taps - 1) / 2;
  width_ = ceil_div(ceil_div(num_taps, up), kLanes) * kLanes;
  phases_.assign(static_cast<size_t>(up * width_), 0.0f);
  // Phase p, slot j (oldest input first) holds up * h[p + (width - 1 - j) * up].
  for (int64_t p = 0; p < up; ++p) {
    for (int64_t j = 0; j < width_; ++j) {
      const int64_t k = p + (width_ - 1 - j) * up;
      if (k < num_taps) {
        phases_[static_cast<size_t>(p * width_ + j)] =
            static_cast<float>(static_cast<double>(taps[k]) * static_cast<double>(up));
      }
    }
  }
}

int64_t PolyphaseFilter::output_length(int64_t n_in) const {
  return ceil_div(n_in * up_, down_);
}

namespace {

// Four outputs at once: dot() of each, interleaved so that four accumulator chains run in
// parallel (one dot alone is bound by the latency of its additions), with the same lanes
// and order as dot() for every output. GCC / Clang vector types keep the accumulators in
// registers (an array of lanes was spilled to the stack on every step).
#if defined(__GNUC__) || defined(__clang__)
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// acc += x[0:kLanes] * h[0:kLanes] (unaligned loads; no vector-valued functions, whose ABI
// differs between the clones).
inline void multiply_add(Lanes& acc, const float* x, const float* h) {
  Lanes xv, hv;
  std::memcpy(&xv, x, sizeof xv);
  std::memcpy(&hv, h, sizeof hv);
  acc += xv * hv;
}

inline float sum_vector(const Lanes& v) {
  float acc[kLanes];
  std::memcpy(acc, &v, sizeof acc);
  return sum_lanes(acc);
}

inline void dot4(const float* const x[4], const float* const h[4], int64_t width, float* out) {
  Lanes a0 = {}, a1 = {}, a2 = {}, a3 = {};
  for (int64_t j = 0; j < width; j += kLanes) {
    multiply_add(a0, x[0] + j, h[0] + j);
    multiply_add(a1, x[1] + j, h[1] + j);
    multiply_add(a2, x[2] + j, h[2] + j);
    multiply_add(a3, x[3] + j, h[3] + j);
  }
  out[0] = sum_vector(a0);
  out[1] = sum_vector(a1);
  out[2] = sum_vector(a2);
  out[3] = sum_vector(a3);
}
#else
inline void dot4(const float* const x[4], const float* const h[4], int64_t width, float* out) {
  for (int o = 0; o < 4; ++o) out[o] = dot(x[o], h[o], width);
}
#endif

// Outputs [i_begin, i_end) of a filter; see PolyphaseFilter::compute. With GCC >= 11 on
// x86-64 glibc (ifunc) it is also compiled for AVX2 + FMA and picked at load time where the
// CPU has them; elsewhere the portable build alone.
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void compute_outputs(const float* phases, int64_t up, int64_t down, int64_t half,
                     int64_t width, const float* x, int64_t x_first, int64_t x_end,
                     int64_t i_begin, int64_t i_end, float* out) {
  const float* xs[4];
  const float* hs[4];
  int pending = 0;
  for (int64_t i = i_begin; i < i_end; ++i) {
    const int64_t t = half + i * down;
    const int64_t newest = t / up;
    const float* h = phases + (t - newest * up) * width;
    const int64_t start = newest - width + 1;
    if (start >= x_first && newest < x_end) {
      xs[pending] = x + (start - x_first);
      hs[pending] = h;
      if (++pending == 4) {
        dot4(xs, hs, width, out + (i - 3 - i_begin));
        pending = 0;
      }
    } else {
      for (int k = 0; k < pending; ++k) out[i - pending + k - i_begin] = dot(xs[k], hs[k], width);
      pending = 0;
      out[i - i_begin] = dot_clipped(x, x_first, x_end, start, h, width);
    }
  }
  for (int k = 0; k < pending; ++k) out[i_end - pending + k - i_begin] = dot(xs[k], hs[k], width);
}

}  // namespace

void PolyphaseFilter::compute(const float* x, int64_t x_first, int64_t x_end, int64_t i_begin,
                              int64_t i_end, float* out) const {
  compute_outputs(phases_.data(), up_, down_, half_, width_, x, x_first, x_end, i_begin, i_end,
                  out);
}

int64_t PolyphaseStream::push_count(int64_t n) const {
  // Output i is final once input newest_input(i) has arrived: half + i * down < total * up.
  const int64_t reach = (total_ + n) * filter_.up() - filter_.half();
  const int64_t ready = reach > 0 ? ceil_div(reach, filter_.down()) : 0;
  return std::max<int64_t>(ready - emitted_, 0);
}

int64_t PolyphaseStream::flush_count() const {
  return filter_.output_length(total_) - emitted_;
}

int64_t PolyphaseStream::max_output(int64_t n) const {
  return filter_.output_length(n) + ceil_div(filter_.half(), filter_.down());
}

void PolyphaseStream::reserve(int64_t n) {
  const auto needed = static_cast<size_t>(total_ - base_ + n);
  if (needed > history_.size()) {
    history_.resize(std::max(needed, static_cast<size_t>(filter_.width() + 4096)));
  }
}

int64_t PolyphaseStream::push(const float* x, int64_t n, float* out) {
  reserve(n);
  const int64_t count = push_count(n);
  std::copy(x, x + n, history_.begin() + (total_ - base_));
  total_ += n;
  filter_.compute(history_.data(), base_, total_, emitted_, emitted_ + count, out);
  emitted_ += count;
  drop_consumed();
  return count;
}

int64_t PolyphaseStream::flush(float* out) {
  const int64_t count = flush_count();
  filter_.compute(history_.data(), base_, total_, emitted_, emitted_ + count, out);
  reset();
  return count;
}

void PolyphaseStream::reset() {
  base_ = total_ = emitted_ = 0;
}

void PolyphaseStream::drop_consumed() {
  // The oldest input any later output reads; never past what has arrived.
  const int64_t oldest = filter_.newest_input(emitted_) - filter_.width() + 1;
  const int64_t keep = std::min(total_, std::max(base_, oldest));
  if (keep == base_) return;
  std::memmove(history_.data(), history_.data() + (keep - base_),
               static_cast<size_t>(total_ - keep) * sizeof(float));
  base_ = keep;
}

}  // namespace ttsengine
