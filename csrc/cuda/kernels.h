// CUDA kernels of the length regulator (the GPU twins of csrc/core/length_regulator.h).
// Host launchers: they validate their arguments on the host (std::invalid_argument,
// before any CUDA call), enqueue on `stream` and check the launch (CudaError). Nothing is
// synchronized. All pointers are device pointers.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

namespace ttsengine::cuda {

enum class DType { kFloat32, kFloat16, kInt32, kInt64, kInt16 };

// The largest max_tokens the frame-expansion kernels accept: each block keeps the row's
// cumulative frame counts in shared memory (int32, 32 KiB).
constexpr int64_t kMaxExpandTokens = 8192;

// Same semantics as ttsengine::durations_to_frames (csrc/core/length_regulator.h): frames =
// max(expm1(log_duration), 0) / speed, rounded on the cumulative sum (in double) per row,
// at least one frame on the row's longest token when a non-empty row rounds to zero; zero
// past each row's length. One block per row: the threads compute the per-token durations,
// one thread walks the cumulative sum in token order (the same additions as the CPU).
// expm1 is evaluated in double and rounded to float (the CPU uses the C library's float
// expm1, which can differ by one ulp; this changes a frame count only when a cumulative sum
// lies within that ulp of a .5 boundary).
// Non-finite input is handled like the CPU does: -inf is zero frames, +inf and huge values
// saturate at ttsengine::kMaxTokenFrames per token, and a row with a NaN among its tokens
// gets all-zero frames and frame_lengths = ttsengine::kNonFiniteDurations (-1), which the
// host must refuse after copying the totals back (the kernel cannot raise).
// log_durations float32 [batch, max_tokens], token_lengths int64 [batch] (each in
// [0, max_tokens]; values outside are clamped like the CPU does) -> frames int32
// [batch, max_tokens] (each in [0, kMaxTokenFrames + 1024]), frame_lengths int64 [batch].
void durations_to_frames(const float* log_durations, const int64_t* token_lengths,
                         int64_t batch, int64_t max_tokens, float speed, int32_t* frames,
                         int64_t* frame_lengths, cudaStream_t stream);

// Same semantics as ttsengine::expand_frames for float32 or float16 (a bitwise copy):
// hidden [batch, max_tokens, dim] -> out [batch, max_frames, dim], zero past each row's
// frames. No scratch memory: a block of frames of one row computes the row's inclusive
// prefix sum of frames in shared memory, then finds each frame's token by binary search
// (first token whose cumulative count exceeds the frame).
void expand_frames(const void* hidden, const int32_t* frames, int64_t batch, int64_t max_tokens,
                   int64_t dim, int64_t max_frames, void* out, DType dtype, cudaStream_t stream);

// The SM architectures this library holds code for (e.g. {80, 90}), from nvcc's
// __CUDA_ARCH_LIST__.
std::vector<int> compiled_architectures();

}  // namespace ttsengine::cuda
