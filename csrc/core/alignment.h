// Monotonic alignment search (Glow-TTS / RAD-TTS): the most likely monotonic hard
// alignment of mel frames to text tokens under per-cell log-probabilities.
#pragma once

#include <cstdint>

namespace ttsengine {

// One matrix. log_probs: [n_mel, n_text] row-major with row stride `stride` (>= n_text).
// A path starts at (frame 0, token 0), ends at (n_mel - 1, n_text - 1) and at each frame
// either stays on its token or moves to the next one, so every token gets >= 1 frame
// (needs n_mel >= n_text >= 1). Maximises the sum of log_probs along the path; ties
// prefer staying on the current token (earlier frames go to earlier tokens last).
// Writes durations[n_text] (frames per token, sum = n_mel) and returns the path score.
double monotonic_alignment_search(const float* log_probs, int64_t n_mel, int64_t n_text,
                                  int64_t stride, int32_t* durations);

}  // namespace ttsengine
