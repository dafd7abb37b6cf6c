#include "memory.h"

#include <atomic>
#include <limits>
#include <stdexcept>

#include "check.h"

namespace ttsengine::cuda {
namespace {

std::atomic<int64_t> g_malloc_calls{0};

// Rethrows a CudaError with `context` in front of its message.
[[noreturn]] void rethrow_with_context(const CudaError& error, const std::string& context) {
  throw CudaError(error.code(), context + ": " + error.what());
}

}  // namespace

int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the (non-sticky) error so later calls start clean
    return 0;
  }
  return count;
}

std::string driver_status() noexcept {
  try {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      return error_string(status);
    }
    if (count == 0) return error_string(cudaErrorNoDevice);
    return "ok";
  } catch (...) {  // std::string allocation
    return "unknown";
  }
}

int runtime_version() noexcept {
  int version = 0;
  if (cudaRuntimeGetVersion(&version) != cudaSuccess) return 0;
  return version;
}

int64_t malloc_calls() noexcept { return g_malloc_calls.load(); }

DType parse_dtype(const std::string& name) {
  if (name == "float32") return DType::kFloat32;
  if (name == "float16") return DType::kFloat16;
  if (name == "int32") return DType::kInt32;
  if (name == "int64") return DType::kInt64;
  if (name == "int16") return DType::kInt16;
  throw std::invalid_argument("unsupported dtype '" + name +
                              "' (expected float32, float16, int32, int64 or int16)");
}

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kInt16: return "int16";
  }
  return "unknown";
}

size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kFloat16: return 2;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kInt16: return 2;
  }
  return 0;
}

size_t byte_size(const std::vector<int64_t>& shape, DType dtype) {
  size_t total = dtype_size(dtype);
  for (const int64_t dim : shape) {
    if (dim < 0) throw std::invalid_argument("shape dimensions must be >= 0");
    if (dim != 0 && total > std::numeric_limits<size_t>::max() / static_cast<size_t>(dim)) {
      throw std::invalid_argument("shape is too large");
    }
    total *= static_cast<size_t>(dim);
  }
  return total;
}

DeviceGuard::DeviceGuard(int device) {
  TTS_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) {
    TTS_CUDA_CHECK(cudaSetDevice(device));
    changed_ = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (changed_) cudaSetDevice(previous_);  // nothing to report to from a destructor
}

Arena::Arena(size_t nbytes, int device) : capacity_(nbytes), device_(device) {
  if (nbytes == 0) throw std::invalid_argument("Arena: nbytes must be > 0");
  if (device < 0) throw std::invalid_argument("Arena: device must be >= 0");
  try {
    const DeviceGuard guard(device);
    ++g_malloc_calls;
    TTS_CUDA_CHECK(cudaMalloc(&base_, nbytes));
  } catch (const CudaError& error) {
    rethrow_with_context(error, "Arena: cannot allocate " + std::to_string(nbytes) +
                                    " bytes on CUDA device " + std::to_string(device));
  }
}

Arena::~Arena() {
  if (base_ == nullptr) return;
  try {
    const DeviceGuard guard(device_);
    cudaFree(base_);
  } catch (const CudaError&) {  // the context is gone: its memory went with it
  }
}

void* Arena::allocate(size_t nbytes) {
  const size_t offset = (used_ + kAlignment - 1) / kAlignment * kAlignment;
  if (offset > capacity_ || nbytes > capacity_ - offset) {
    throw ArenaFullError("Arena full: cannot allocate " + std::to_string(nbytes) + " bytes (" +
                         std::to_string(used_) + " of " + std::to_string(capacity_) +
                         " bytes in use on device " + std::to_string(device_) +
                         "); make the arena larger or reset() it");
  }
  used_ = offset + nbytes;
  return static_cast<char*>(base_) + offset;
}

DeviceBuffer DeviceBuffer::allocate(const std::shared_ptr<Arena>& arena,
                                    const std::vector<int64_t>& shape, DType dtype) {
  DeviceBuffer buffer;
  buffer.nbytes = byte_size(shape, dtype);
  buffer.data = arena->allocate(buffer.nbytes);
  buffer.arena = arena;
  buffer.shape = shape;
  buffer.dtype = dtype;
  return buffer;
}

DeviceBuffer DeviceBuffer::view(const std::vector<int64_t>& new_shape) const {
  const size_t needed = byte_size(new_shape, dtype);
  if (needed > nbytes) {
    throw std::invalid_argument("view needs " + std::to_string(needed) +
                                " bytes but the buffer has " + std::to_string(nbytes));
  }
  DeviceBuffer result = *this;
  result.shape = new_shape;
  result.nbytes = needed;
  return result;
}

Stream::Stream(int device) : device_(device) {
  if (device < 0) throw std::invalid_argument("Stream: device must be >= 0");
  try {
    const DeviceGuard guard(device);
    TTS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  } catch (const CudaError& error) {
    rethrow_with_context(error, "Stream: cannot create a stream on CUDA device " +
                                    std::to_string(device));
  }
}

Stream::~Stream() {
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void Stream::synchronize() const { TTS_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace ttsengine::cuda
