// Error checking for CUDA runtime calls: every failure becomes a C++ exception that names the
// CUDA error, its message and the call site. Shared by the .cu and .cpp files of _cuda/_trt.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace ttsengine::cuda {

// A failed CUDA runtime call (mapped to ttsengine._cuda.CudaError in Python).
class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const noexcept { return code_; }

 private:
  cudaError_t code_;
};

// "<name>: <message>" for a CUDA error code.
inline std::string error_string(cudaError_t code) {
  return std::string(cudaGetErrorName(code)) + ": " + cudaGetErrorString(code);
}

// The file name without its directories (keeps build paths out of messages).
constexpr const char* file_name(const char* path) {
  const char* name = path;
  for (const char* p = path; *p != '\0'; ++p) {
    if (*p == '/' || *p == '\\') name = p + 1;
  }
  return name;
}

[[noreturn]] inline void throw_cuda_error(cudaError_t code, const char* call, const char* file,
                                          int line) {
  throw CudaError(code, error_string(code) + " (in " + call + " at " + file_name(file) + ":" +
                            std::to_string(line) + ")");
}

}  // namespace ttsengine::cuda

// Checks a CUDA runtime call; throws ttsengine::cuda::CudaError on failure.
#define TTS_CUDA_CHECK(call)                                                     \
  do {                                                                           \
    const cudaError_t tts_status_ = (call);                                      \
    if (tts_status_ != cudaSuccess) {                                            \
      ::ttsengine::cuda::throw_cuda_error(tts_status_, #call, __FILE__, __LINE__); \
    }                                                                            \
  } while (0)
