// CPU length regulator: token durations -> frame counts -> frame-rate hidden states.
#pragma once

#include <cstdint>

namespace ttsengine {

// Converts predicted log(1 + frames) per token into integer frame counts.
// durations = max(exp(log_durations) - 1, 0) / speed; each row is rounded on its cumulative
// sum, so the row total equals round(sum of its durations) and no frame is lost or
// gained by per-token rounding. A non-empty row always gets at least one frame.
// log_durations: [batch, max_tokens]; token_lengths: [batch]; outputs: frames
// [batch, max_tokens] (zero past each row's length) and frame_lengths [batch].
void durations_to_frames(const float* log_durations, const int64_t* token_lengths,
                         int64_t batch, int64_t max_tokens, float speed, int32_t* frames,
                         int64_t* frame_lengths);

// Frame -> token index map: index[b, f] is the token that frame f of row b repeats,
// -1 past the row's frame length. index: [batch, max_frames].
void frame_index(const int32_t* frames, int64_t batch, int64_t max_tokens,
                 int64_t max_frames, int64_t* index);

// Expands hidden [batch, max_tokens, dim] into out [batch, max_frames, dim] following
// frames; rows past each frame length are zero.
void expand_frames(const float* hidden, const int32_t* frames, int64_t batch,
                   int64_t max_tokens, int64_t dim, int64_t max_frames, float* out);

}  // namespace ttsengine
