// Device memory, pinned host memory, streams and CUDA graphs for _cuda and _trt.
// Every CUDA runtime call is checked (CudaError); destructors release what they own and
// cannot report a failure (they never throw).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"

namespace ttsengine::cuda {

// The number of CUDA devices; 0 when there is no driver or no device. Never throws.
int device_count() noexcept;
// "ok" when at least one device is usable, else "<cudaError name>: <message>". Never throws.
std::string driver_status() noexcept;
// The CUDA runtime version this library was linked with (e.g. 13000). Never throws.
int runtime_version() noexcept;
// How many cudaMalloc calls this library has made (process-wide).
int64_t malloc_calls() noexcept;

// dtype names: "float32", "float16", "int32", "int64", "int16".
DType parse_dtype(const std::string& name);  // std::invalid_argument for other names
const char* dtype_name(DType dtype) noexcept;
size_t dtype_size(DType dtype) noexcept;
// Product of the dims times the dtype's size; std::invalid_argument for negative dims.
size_t byte_size(const std::vector<int64_t>& shape, DType dtype);

// Thrown when an Arena has no room left for an allocation (Python: MemoryError).
class ArenaFullError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Makes `device` current for the guard's lifetime (restores the previous one).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
  bool changed_ = false;
};

// One cudaMalloc up front; allocate() hands out 256-byte aligned pieces of it (a bump
// allocator); reset() makes the whole capacity available again without touching memory.
class Arena {
 public:
  static constexpr size_t kAlignment = 256;

  Arena(size_t nbytes, int device);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* allocate(size_t nbytes);  // ArenaFullError when it does not fit
  void reset() noexcept { used_ = 0; }
  size_t capacity() const noexcept { return capacity_; }
  size_t used() const noexcept { return used_; }
  int device() const noexcept { return device_; }
  void* base() const noexcept { return base_; }

 private:
  void* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  int device_ = 0;
};

// A typed piece of an Arena; keeps the Arena alive.
struct DeviceBuffer {
  std::shared_ptr<Arena> arena;
  void* data = nullptr;
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
  size_t nbytes = 0;

  static DeviceBuffer allocate(const std::shared_ptr<Arena>& arena,
                               const std::vector<int64_t>& shape, DType dtype);
  // A buffer over the first byte_size(shape, dtype) bytes of this one (must fit).
  DeviceBuffer view(const std::vector<int64_t>& new_shape) const;
  int device() const noexcept { return arena->device(); }
};

// A non-blocking stream (cudaStreamNonBlocking) on one device.
class Stream {
 public:
  explicit Stream(int device);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const noexcept { return stream_; }
  int device() const noexcept { return device_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
  int device_ = 0;
};

// Reinterprets an integer handle (Python side) as a stream.
inline cudaStream_t stream_from_handle(std::uintptr_t handle) noexcept {
  return reinterpret_cast<cudaStream_t>(handle);
}

}  // namespace ttsengine::cuda
