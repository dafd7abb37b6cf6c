// CUDA kernels of the shared synthesis path; see kernels.h for the contract of each launcher.
#include "check.h"
#include "kernels.h"

// kNonFiniteDurations, kMaxTokenFrames, kMaxRowFrames: one definition for both twins.
#include "../core/length_regulator.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <initializer_list>
#include <string>
#include <utility>

namespace ttsengine::cuda {
namespace {

constexpr int kDurationThreads = 128;
constexpr int kExpandThreads = 256;
constexpr int kFramesPerBlock = 16;
constexpr int64_t kMaxGridY = 65535;

// ---------------------------------------------------------------- durations_to_frames

__global__ void durations_kernel(const float* log_durations, const int64_t* token_lengths,
                                 int64_t max_tokens, float speed, int32_t* frames,
                                 int64_t* frame_lengths) {
  __shared__ float values[kDurationThreads];
  __shared__ int non_finite;  // a NaN among the row's tokens: written by thread 0
  const int64_t b = blockIdx.x;
  const float* row = log_durations + b * max_tokens;
  int32_t* out = frames + b * max_tokens;
  int64_t length = token_lengths[b] < max_tokens ? token_lengths[b] : max_tokens;
  if (length < 0) length = 0;
  if (threadIdx.x == 0) non_finite = 0;
  __syncthreads();
  // Walked by thread 0 only, in token order, exactly like the CPU loop.
  double cumulative = 0.0;
  int64_t emitted = 0;
  int64_t longest = 0;
  float longest_value = -1.0f;
  for (int64_t base = 0; base < length; base += kDurationThreads) {
    const int64_t t = base + threadIdx.x;
    if (t < length) {
      const float x = row[t];
      const float e = static_cast<float>(expm1(static_cast<double>(x)));
      // std::min(std::max(e, 0.0f) / speed, kMaxTokenFrames); NaN stays NaN for thread 0.
      const float value = (e < 0.0f ? 0.0f : e) / speed;
      values[threadIdx.x] = isnan(x) ? x : (value < kMaxTokenFrames ? value : kMaxTokenFrames);
    }
    __syncthreads();
    if (threadIdx.x == 0 && !non_finite) {
      const int64_t count = length - base < kDurationThreads ? length - base : kDurationThreads;
      for (int64_t i = 0; i < count; ++i) {
        const float value = values[i];
        if (isnan(value)) {
          non_finite = 1;
          break;
        }
        if (value > longest_value) {
          longest_value = value;
          longest = base + i;
        }
        // Non-negative additions never decrease the sum: every count is >= 0.
        cumulative += static_cast<double>(value);
        if (cumulative > kMaxRowFrames) cumulative = kMaxRowFrames;
        const int64_t boundary = llround(cumulative);
        out[base + i] = static_cast<int32_t>(boundary - emitted);
        emitted = boundary;
      }
    }
    __syncthreads();
  }
  // non_finite is final here (the loop ends on a barrier, or never ran).
  const int64_t zero_from = non_finite ? 0 : length;
  for (int64_t t = zero_from + threadIdx.x; t < max_tokens; t += kDurationThreads) out[t] = 0;
  if (threadIdx.x == 0) {
    if (non_finite) {
      emitted = kNonFiniteDurations;
    } else if (length > 0 && emitted == 0) {
      out[longest] = 1;
      emitted = 1;
    }
    frame_lengths[b] = emitted;
  }
}

// ---------------------------------------------------------------- frame -> token lookup

// Fills cumulative[0, max_tokens) (shared memory) with the row's inclusive prefix sum of
// max(frames, 0), saturated at max_frames (which keeps it in int32 and changes no lookup of
// a frame < max_frames). Every thread of the block must call it.
__device__ void row_prefix_sum(const int32_t* row, int64_t max_tokens, int64_t max_frames,
                               int32_t* cumulative) {
  __shared__ long long partial[kExpandThreads];
  const int64_t chunk = (max_tokens + kExpandThreads - 1) / kExpandThreads;
  const int64_t begin = threadIdx.x * chunk;
  const int64_t end = begin + chunk < max_tokens ? begin + chunk : max_tokens;
  long long sum = 0;
  for (int64_t t = begin; t < end; ++t) sum += row[t] > 0 ? row[t] : 0;
  partial[threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {  // exclusive scan of the per-thread sums
    long long running = 0;
    for (int i = 0; i < kExpandThreads; ++i) {
      const long long value = partial[i];
      partial[i] = running;
      running += value;
    }
  }
  __syncthreads();
  long long running = partial[threadIdx.x];
  for (int64_t t = begin; t < end; ++t) {
    running += row[t] > 0 ? row[t] : 0;
    cumulative[t] = static_cast<int32_t>(running < max_frames ? running : max_frames);
  }
  __syncthreads();
}

// The token frame f repeats: the first t with cumulative[t] > f; -1 past the row's frames.
__device__ int32_t token_of_frame(const int32_t* cumulative, int64_t max_tokens, int64_t f) {
  if (max_tokens == 0 || cumulative[max_tokens - 1] <= f) return -1;
  int64_t lo = 0;
  int64_t hi = max_tokens - 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (cumulative[mid] > f) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return static_cast<int32_t>(lo);
}

// grid (frame blocks of kFramesPerBlock, batch); dynamic shared memory: int32 [max_tokens].
// T is a same-size unsigned type: the copy is bitwise.
template <typename T>
__global__ void expand_kernel(const T* hidden, const int32_t* frames, int64_t max_tokens,
                              int64_t dim, int64_t max_frames, T* out) {
  extern __shared__ int32_t cumulative[];
  __shared__ int32_t tokens[kFramesPerBlock];
  const int64_t b = blockIdx.y;
  row_prefix_sum(frames + b * max_tokens, max_tokens, max_frames, cumulative);
  const int64_t f0 = static_cast<int64_t>(blockIdx.x) * kFramesPerBlock;
  if (threadIdx.x < kFramesPerBlock) {
    const int64_t f = f0 + threadIdx.x;
    tokens[threadIdx.x] = f < max_frames ? token_of_frame(cumulative, max_tokens, f) : -1;
  }
  __syncthreads();
  for (int i = 0; i < kFramesPerBlock; ++i) {
    const int64_t f = f0 + i;
    if (f >= max_frames) break;
    T* dst = out + (b * max_frames + f) * dim;
    const int32_t t = tokens[i];
    if (t >= 0) {
      const T* src = hidden + (b * max_tokens + t) * dim;
      for (int64_t d = threadIdx.x; d < dim; d += kExpandThreads) dst[d] = src[d];
    } else {
      for (int64_t d = threadIdx.x; d < dim; d += kExpandThreads) dst[d] = T(0);
    }
  }
}

// ---------------------------------------------------------------- host-side checks

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument(message);
}

void require_sizes(const char* what, std::initializer_list<std::pair<const char*, int64_t>> sizes) {
  for (const auto& [name, value] : sizes) {
    require(value >= 0, std::string(what) + ": " + name + " must be >= 0, got " +
                            std::to_string(value));
  }
}

void require_pointer(const char* what, const char* name, const void* pointer) {
  require(pointer != nullptr, std::string(what) + ": " + name + " is a null pointer");
}

void require_expand_shape(const char* what, int64_t batch, int64_t max_tokens,
                          int64_t max_frames) {
  require(batch <= kMaxGridY, std::string(what) + ": batch must be <= " +
                                  std::to_string(kMaxGridY) + ", got " + std::to_string(batch));
  require(max_tokens <= kMaxExpandTokens,
          std::string(what) + ": max_tokens must be <= " + std::to_string(kMaxExpandTokens) +
              " (the row's prefix sum lives in shared memory), got " +
              std::to_string(max_tokens));
  require(max_frames <= INT_MAX, std::string(what) + ": max_frames must be <= " +
                                     std::to_string(INT_MAX) + ", got " +
                                     std::to_string(max_frames));
}

void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    throw CudaError(status, error_string(status) + " (launching " + kernel + ")");
  }
}

unsigned int blocks_for(int64_t count, int64_t per_block) {
  return static_cast<unsigned int>((count + per_block - 1) / per_block);
}

}  // namespace

void durations_to_frames(const float* log_durations, const int64_t* token_lengths,
                         int64_t batch, int64_t max_tokens, float speed, int32_t* frames,
                         int64_t* frame_lengths, cudaStream_t stream) {
  const char* what = "durations_to_frames";
  require_sizes(what, {{"batch", batch}, {"max_tokens", max_tokens}});
  require(speed > 0.0f && std::isfinite(speed),
          "durations_to_frames: speed must be a positive finite number, got " +
              std::to_string(speed));
  require(batch <= INT_MAX, "durations_to_frames: batch must be <= " + std::to_string(INT_MAX));
  if (batch == 0) return;
  require_pointer(what, "token_lengths", token_lengths);
  require_pointer(what, "frame_lengths", frame_lengths);
  if (max_tokens > 0) {
    require_pointer(what, "log_durations", log_durations);
    require_pointer(what, "frames", frames);
  }
  durations_kernel<<<static_cast<unsigned int>(batch), kDurationThreads, 0, stream>>>(
      log_durations, token_lengths, max_tokens, speed, frames, frame_lengths);
  check_launch("durations_to_frames");
}

void expand_frames(const void* hidden, const int32_t* frames, int64_t batch, int64_t max_tokens,
                   int64_t dim, int64_t max_frames, void* out, DType dtype, cudaStream_t stream) {
  const char* what = "expand_frames";
  require(dtype == DType::kFloat32 || dtype == DType::kFloat16,
          "expand_frames: dtype must be float32 or float16");
  require_sizes(what, {{"batch", batch}, {"max_tokens", max_tokens}, {"dim", dim},
                       {"max_frames", max_frames}});
  require_expand_shape(what, batch, max_tokens, max_frames);
  if (batch == 0 || max_frames == 0 || dim == 0) return;
  require_pointer(what, "out", out);
  if (max_tokens > 0) {
    require_pointer(what, "hidden", hidden);
    require_pointer(what, "frames", frames);
  }
  const dim3 grid(blocks_for(max_frames, kFramesPerBlock), static_cast<unsigned int>(batch));
  const size_t shared = static_cast<size_t>(max_tokens) * sizeof(int32_t);
  if (dtype == DType::kFloat32) {
    expand_kernel<uint32_t><<<grid, kExpandThreads, shared, stream>>>(
        static_cast<const uint32_t*>(hidden), frames, max_tokens, dim, max_frames,
        static_cast<uint32_t*>(out));
  } else {
    expand_kernel<uint16_t><<<grid, kExpandThreads, shared, stream>>>(
        static_cast<const uint16_t*>(hidden), frames, max_tokens, dim, max_frames,
        static_cast<uint16_t*>(out));
  }
  check_launch("expand_frames");
}

std::vector<int> compiled_architectures() {
#ifdef __CUDA_ARCH_LIST__
  const int list[] = {__CUDA_ARCH_LIST__};
  std::vector<int> result;
  for (const int arch : list) result.push_back(arch / 10);
  return result;
#else
  return {};
#endif
}

}  // namespace ttsengine::cuda
