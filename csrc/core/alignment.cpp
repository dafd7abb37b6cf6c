#include "alignment.h"

#include <cstddef>
#include <limits>
#include <vector>

namespace ttsengine {

double monotonic_alignment_search(const float* log_probs, int64_t n_mel, int64_t n_text,
                                  int64_t stride, int32_t* durations) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  // Dynamic programme over the frame axis with one row of scores, plus a bit per cell
  // recording whether the best way into (i, j) came from token j - 1 (a move).
  std::vector<double> prev(static_cast<size_t>(n_text), neg_inf);
  std::vector<double> cur(static_cast<size_t>(n_text), neg_inf);
  std::vector<uint8_t> moved(static_cast<size_t>(n_mel * n_text), 0);
  prev[0] = log_probs[0];
  for (int64_t i = 1; i < n_mel; ++i) {
    const float* row = log_probs + i * stride;
    // Token j is reachable at frame i only if j <= i and the rest fits: n_text - j <= n_mel - i.
    const int64_t lo = n_text - (n_mel - i) > 0 ? n_text - (n_mel - i) : 0;
    const int64_t hi = i < n_text - 1 ? i : n_text - 1;
    for (int64_t j = 0; j < n_text; ++j) cur[static_cast<size_t>(j)] = neg_inf;
    for (int64_t j = lo; j <= hi; ++j) {
      const double stay = prev[static_cast<size_t>(j)];
      const double move = j > 0 ? prev[static_cast<size_t>(j - 1)] : neg_inf;
      // At j == i the only way in is a move (token j was not reachable at frame i - 1).
      const bool take_move = j == i || move > stay;
      cur[static_cast<size_t>(j)] = (take_move ? move : stay) + static_cast<double>(row[j]);
      moved[static_cast<size_t>(i * n_text + j)] = take_move ? 1 : 0;
    }
    prev.swap(cur);
  }
  const double score = prev[static_cast<size_t>(n_text - 1)];
  for (int64_t j = 0; j < n_text; ++j) durations[j] = 0;
  int64_t j = n_text - 1;
  for (int64_t i = n_mel - 1; i >= 0; --i) {
    durations[j] += 1;
    if (i > 0 && moved[static_cast<size_t>(i * n_text + j)]) --j;
  }
  return score;
}

}  // namespace ttsengine
