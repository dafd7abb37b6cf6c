#include "length_regulator.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ttsengine {

namespace {

// The frames of token t in [0, max_frames - f]: a negative count is zero, and the row never
// runs past max_frames (f is the number of frames already written).
int64_t clamped_count(int32_t count, int64_t f, int64_t max_frames) {
  return std::clamp<int64_t>(count, 0, max_frames - f);
}

}  // namespace

void durations_to_frames(const float* log_durations, const int64_t* token_lengths,
                         int64_t batch, int64_t max_tokens, float speed, int32_t* frames,
                         int64_t* frame_lengths) {
  for (int64_t b = 0; b < batch; ++b) {
    const float* row = log_durations + b * max_tokens;
    int32_t* out = frames + b * max_tokens;
    const int64_t length = std::clamp<int64_t>(token_lengths[b], 0, max_tokens);
    if (std::any_of(row, row + length, [](float x) { return std::isnan(x); })) {
      std::fill(out, out + max_tokens, 0);
      frame_lengths[b] = kNonFiniteDurations;
      continue;
    }
    double cumulative = 0.0;
    int64_t emitted = 0;
    int64_t longest = 0;
    float longest_value = -1.0f;
    for (int64_t t = 0; t < length; ++t) {
      // expm1 is in [-1, +inf] for a non-NaN input; the division keeps it non-NaN.
      const float value =
          std::min(std::max(std::expm1(row[t]), 0.0f) / speed, kMaxTokenFrames);
      if (value > longest_value) {
        longest_value = value;
        longest = t;
      }
      // Adding a non-negative value never decreases the (rounded) sum: counts are >= 0.
      cumulative = std::min(cumulative + static_cast<double>(value), kMaxRowFrames);
      const int64_t boundary = static_cast<int64_t>(std::llround(cumulative));
      out[t] = static_cast<int32_t>(boundary - emitted);
      emitted = boundary;
    }
    std::fill(out + length, out + max_tokens, 0);
    if (length > 0 && emitted == 0) {
      out[longest] = 1;
      emitted = 1;
    }
    frame_lengths[b] = emitted;
  }
}

void expand_frames(const float* hidden, const int32_t* frames, int64_t batch,
                   int64_t max_tokens, int64_t dim, int64_t max_frames, float* out) {
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  for (int64_t b = 0; b < batch; ++b) {
    float* dst = out + b * max_frames * dim;
    int64_t f = 0;
    for (int64_t t = 0; t < max_tokens && f < max_frames; ++t) {
      const float* src = hidden + (b * max_tokens + t) * dim;
      const int64_t count = clamped_count(frames[b * max_tokens + t], f, max_frames);
      for (int64_t i = 0; i < count; ++i, ++f) std::memcpy(dst + f * dim, src, row_bytes);
    }
    if (f < max_frames) std::memset(dst + f * dim, 0, (max_frames - f) * row_bytes);
  }
}

}  // namespace ttsengine
