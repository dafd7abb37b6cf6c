// The DLPack C ABI (data structures only), written from the public DLPack specification
// (https://dmlc.github.io/dlpack/latest/c_api.html): the unversioned DLManagedTensor of
// DLPack 0.x (capsule name "dltensor") and DLManagedTensorVersioned of DLPack 1.x (capsule
// name "dltensor_versioned"). Field order and types follow the specification's layout.
#pragma once

#include <cstdint>

namespace ttsengine::dlpack {

// DLDeviceType values used here.
constexpr int32_t kDLCPU = 1;
constexpr int32_t kDLCUDA = 2;
constexpr int32_t kDLCUDAHost = 3;

// DLDataTypeCode values used here.
constexpr uint8_t kDLInt = 0;
constexpr uint8_t kDLUInt = 1;
constexpr uint8_t kDLFloat = 2;

// The highest DLPack version this producer speaks.
constexpr uint32_t kMajorVersion = 1;
constexpr uint32_t kMinorVersion = 0;

// DLManagedTensorVersioned::flags bits.
constexpr uint64_t kFlagReadOnly = 1ULL << 0;
constexpr uint64_t kFlagIsCopied = 1ULL << 1;

struct DLDevice {
  int32_t device_type;  // a DLDeviceType (a C enum: int-sized)
  int32_t device_id;
};

struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; may be null for a compact row-major tensor
  uint64_t byte_offset;
};

struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};

struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

}  // namespace ttsengine::dlpack
