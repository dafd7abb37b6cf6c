// Streaming bookkeeping: how a segment's frames are cut into vocoder chunks with context.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ttsengine {

// Doubles size, capped at largest (without overflowing).
inline int64_t next_chunk_size(int64_t size, int64_t largest) {
  return size > largest / 2 ? largest : size * 2;
}

// Number of [start, stop) chunks covering total frames: first, then doubling up to largest.
// Needs total >= 0 and 1 <= first <= largest.
inline int64_t stream_chunk_count(int64_t total, int64_t first, int64_t largest) {
  int64_t count = 0;
  for (int64_t start = 0, size = first; start < total; ++count) {
    start += std::min(size, total - start);
    size = next_chunk_size(size, largest);
  }
  return count;
}

// Writes stream_chunk_count() rows (start, stop, left, right) to windows [n, 4]:
// left = max(0, start - context), right = min(total, stop + context).
inline void plan_stream_chunks(int64_t total, int64_t first, int64_t largest, int64_t context,
                               int64_t* windows) {
  for (int64_t start = 0, size = first; start < total; windows += 4) {
    const int64_t stop = start + std::min(size, total - start);
    windows[0] = start;
    windows[1] = stop;
    windows[2] = std::max<int64_t>(0, start - context);
    windows[3] = stop + std::min(context, total - stop);
    start = stop;
    size = next_chunk_size(size, largest);
  }
}

}  // namespace ttsengine
