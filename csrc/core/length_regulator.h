// CPU length regulator: token durations -> frame counts -> frame-rate hidden states.
#pragma once

#include <cstdint>

namespace ttsengine {

// A row's frame_lengths entry when one of its log-durations (within its token length) is
// NaN: the row has no usable durations. Its frames are all zero. Callers must refuse the
// row (ttsengine.backends.base.check_frame_limit raises); the CUDA kernel writes the same.
constexpr int64_t kNonFiniteDurations = -1;

// Per-token saturation of the frame count (before rounding): +inf, huge finite
// log-durations or a tiny speed give this many frames instead of overflowing. 2^30 frames
// is ~3.5 h of audio at 24 kHz / hop 256, far beyond any frame limit, and keeps every
// per-token count inside int32 (at most this + 1024 after cumulative rounding: the double
// sum's rounding error stays below 512 up to kMaxRowFrames).
constexpr float kMaxTokenFrames = 1073741824.0f;  // 2^30

// Saturation of a row's cumulative sum (2^62, exactly representable as a double): keeps
// llround defined and the row total inside int64 for any max_tokens. Unreachable in
// practice (it needs more than 2^32 saturated tokens in one row).
constexpr double kMaxRowFrames = 4611686018427387904.0;  // 2^62

// Converts predicted log(1 + frames) per token into integer frame counts.
// durations = min(max(exp(log_durations) - 1, 0) / speed, kMaxTokenFrames); each row is
// rounded on its cumulative sum, so the row total equals round(sum of its durations) and no
// frame is lost or gained by per-token rounding. A non-empty row always gets at least one
// frame. -inf (or any very negative value) is zero frames; +inf saturates. A row with a NaN
// among its first token_lengths[b] entries gets all-zero frames and frame_lengths[b] =
// kNonFiniteDurations; NaN in the padding past the row's length is ignored. Every frame
// count written is in [0, kMaxTokenFrames + 1024]; every total is >= 0 or kNonFiniteDurations.
// log_durations: [batch, max_tokens]; token_lengths: [batch] (clamped to [0, max_tokens]);
// speed: positive and finite (the caller checks); outputs: frames [batch, max_tokens] (zero
// past each row's length) and frame_lengths [batch].
void durations_to_frames(const float* log_durations, const int64_t* token_lengths,
                         int64_t batch, int64_t max_tokens, float speed, int32_t* frames,
                         int64_t* frame_lengths);

// Expands hidden [batch, max_tokens, dim] into out [batch, max_frames, dim] following
// frames; rows past each frame length are zero. Any int32 frame counts are accepted:
// negative counts count as zero, and nothing is written past max_frames.
void expand_frames(const float* hidden, const int32_t* frames, int64_t batch,
                   int64_t max_tokens, int64_t dim, int64_t max_frames, float* out);

}  // namespace ttsengine
