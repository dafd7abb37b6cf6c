// ttsengine._cuda: device arena, pinned staging, streams, CUDA graphs and the CUDA kernels of
// the shared synthesis path. Linked with the static CUDA runtime: it imports on machines
// without a driver and then reports zero devices.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../cuda/check.h"
#include "../cuda/dlpack.h"
#include "../cuda/kernels.h"
#include "../cuda/memory.h"

namespace py = pybind11;
namespace tc = ttsengine::cuda;
namespace dl = ttsengine::dlpack;

namespace {

using Pointer = std::uintptr_t;

template <typename T>
T* as_pointer(Pointer value) {
  return reinterpret_cast<T*>(value);
}

// ---------------------------------------------------------------- DLPack export

dl::DLDataType dlpack_dtype(tc::DType dtype) {
  switch (dtype) {
    case tc::DType::kFloat32: return {dl::kDLFloat, 32, 1};
    case tc::DType::kFloat16: return {dl::kDLFloat, 16, 1};
    case tc::DType::kInt32: return {dl::kDLInt, 32, 1};
    case tc::DType::kInt64: return {dl::kDLInt, 64, 1};
    case tc::DType::kInt16: return {dl::kDLInt, 16, 1};
  }
  throw std::logic_error("unknown dtype");
}

// Owns what a DLPack tensor points at: the shape/strides arrays and a reference to the arena
// (so the device memory outlives the consumer's tensor).
template <typename Managed>
struct DLPackContext {
  std::shared_ptr<tc::Arena> arena;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  Managed managed{};
};

template <typename Managed>
void delete_dlpack_context(Managed* self) {
  delete static_cast<DLPackContext<Managed>*>(self->manager_ctx);
}

template <typename Managed>
Managed* make_managed(const tc::DeviceBuffer& buffer) {
  auto context = std::make_unique<DLPackContext<Managed>>();
  context->arena = buffer.arena;
  context->shape = buffer.shape;
  context->strides.assign(buffer.shape.size(), 1);
  for (size_t i = buffer.shape.size(); i-- > 1;) {
    context->strides[i - 1] = context->strides[i] * buffer.shape[i];
  }
  dl::DLTensor& tensor = context->managed.dl_tensor;
  tensor.data = buffer.data;
  tensor.device = {dl::kDLCUDA, buffer.device()};
  tensor.ndim = static_cast<int32_t>(buffer.shape.size());
  tensor.dtype = dlpack_dtype(buffer.dtype);
  tensor.shape = context->shape.data();
  tensor.strides = context->strides.data();
  tensor.byte_offset = 0;
  context->managed.manager_ctx = context.get();
  context->managed.deleter = &delete_dlpack_context<Managed>;
  if constexpr (std::is_same_v<Managed, dl::DLManagedTensorVersioned>) {
    context->managed.version = {dl::kMajorVersion, dl::kMinorVersion};
    context->managed.flags = 0;
  }
  return &context.release()->managed;
}

// A capsule still carrying its original name was never consumed: free it here.
void legacy_capsule_destructor(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, "dltensor")) {
    auto* managed = static_cast<dl::DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
    if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
  }
}

void versioned_capsule_destructor(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, "dltensor_versioned")) {
    auto* managed = static_cast<dl::DLManagedTensorVersioned*>(
        PyCapsule_GetPointer(capsule, "dltensor_versioned"));
    if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
  }
}

py::object to_dlpack(const tc::DeviceBuffer& buffer, const py::object& stream,
                     const py::object& max_version, const py::object& dl_device,
                     const py::object& copy) {
  if (!stream.is_none() && !py::isinstance<py::int_>(stream)) {
    throw py::type_error("__dlpack__: stream must be None or an int");
  }
  if (!copy.is_none() && copy.cast<bool>()) {
    throw py::buffer_error("__dlpack__: copy=True is not supported (DeviceBuffer exports in place)");
  }
  if (!dl_device.is_none()) {
    const auto wanted = dl_device.cast<std::pair<int, int>>();
    if (wanted.first != dl::kDLCUDA || wanted.second != buffer.device()) {
      throw py::buffer_error("__dlpack__: the buffer lives on (" + std::to_string(dl::kDLCUDA) +
                             ", " + std::to_string(buffer.device()) +
                             ") and cannot be exported to another device");
    }
  }
  bool versioned = false;
  if (!max_version.is_none()) {
    const auto version = max_version.cast<std::pair<int, int>>();
    versioned = version.first >= 1;
  }
  PyObject* capsule = nullptr;
  if (versioned) {
    auto* managed = make_managed<dl::DLManagedTensorVersioned>(buffer);
    capsule = PyCapsule_New(managed, "dltensor_versioned", &versioned_capsule_destructor);
    if (capsule == nullptr) managed->deleter(managed);
  } else {
    auto* managed = make_managed<dl::DLManagedTensor>(buffer);
    capsule = PyCapsule_New(managed, "dltensor", &legacy_capsule_destructor);
    if (capsule == nullptr) managed->deleter(managed);
  }
  if (capsule == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(capsule);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += std::to_string(shape[i]);
    if (i + 1 < shape.size() || shape.size() == 1) text += ",";
    if (i + 1 < shape.size()) text += " ";
  }
  return text + ")";
}

py::tuple shape_tuple(const std::vector<int64_t>& shape) {
  py::tuple result(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) result[i] = py::int_(shape[i]);
  return result;
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() =
      "ttsengine CUDA runtime pieces: a preallocated device Arena, streams and the CUDA "
      "kernels of the length regulator (same semantics as "
      "ttsengine._core). Statically linked CUDA runtime: importable without a driver "
      "(device_count() is then 0). Kernels take device pointers as ints (DeviceBuffer.ptr, "
      "torch's Tensor.data_ptr()) and a stream handle (0 = legacy default stream); they "
      "validate their arguments on the host (ValueError) and never synchronize. Failed CUDA "
      "calls raise CudaError.";

  py::register_exception<tc::CudaError>(m, "CudaError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const tc::ArenaFullError& full) {
      PyErr_SetString(PyExc_MemoryError, full.what());
    }
  });

  m.def("device_count", &tc::device_count,
        "device_count() -> int: CUDA devices visible to this process; 0 without a driver or "
        "device (never raises).");
  m.def("driver_status", &tc::driver_status,
        "driver_status() -> str: 'ok' when a device is usable, else the CUDA error name and "
        "message, e.g. 'cudaErrorInsufficientDriver: ...' or 'cudaErrorNoDevice: ...'.");
  m.def("runtime_version", &tc::runtime_version,
        "runtime_version() -> int: the linked CUDA runtime's version, 1000 * major + 10 * "
        "minor (13000 for CUDA 13.0).");
  m.def("compiled_architectures", &tc::compiled_architectures,
        "compiled_architectures() -> list[int]: SM architectures with code in this build "
        "(e.g. [80, 90]).");
  m.def("malloc_calls", &tc::malloc_calls,
        "malloc_calls() -> int: cudaMalloc calls made by this module so far (process-wide; "
        "Arena construction).");

  py::class_<tc::DeviceBuffer>(m, "DeviceBuffer",
                               "A typed, C-contiguous piece of an Arena's device memory. Keeps "
                               "its Arena alive; Arena.reset() makes its memory reusable by "
                               "later allocations (the caller must stop using it).")
      .def_property_readonly(
          "ptr", [](const tc::DeviceBuffer& b) { return reinterpret_cast<Pointer>(b.data); },
          "Device address (int).")
      .def_property_readonly("shape", [](const tc::DeviceBuffer& b) { return shape_tuple(b.shape); },
                             "tuple[int, ...]")
      .def_property_readonly("dtype", [](const tc::DeviceBuffer& b) { return tc::dtype_name(b.dtype); },
                             "dtype name (str)")
      .def_property_readonly("nbytes", [](const tc::DeviceBuffer& b) { return b.nbytes; })
      .def_property_readonly("device", &tc::DeviceBuffer::device, "CUDA device index.")
      .def("view", &tc::DeviceBuffer::view, py::arg("shape"),
           "view(shape) -> DeviceBuffer over the first bytes of this one, same dtype "
           "(ValueError if it does not fit).")
      .def("__dlpack__", &to_dlpack, py::arg("stream") = py::none(), py::kw_only(),
           py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
           py::arg("copy") = py::none(),
           "DLPack export in place (kDLCUDA; a versioned capsule when max_version >= (1, 0)). "
           "The capsule keeps the Arena alive. No synchronization: a DeviceBuffer has no "
           "stream of its own, so finish (or order) the work writing it before consuming.")
      .def("__dlpack_device__",
           [](const tc::DeviceBuffer& b) { return py::make_tuple(dl::kDLCUDA, b.device()); },
           "(2, device): kDLCUDA.")
      .def("__repr__", [](const tc::DeviceBuffer& b) {
        return "DeviceBuffer(shape=" + shape_string(b.shape) + ", dtype=" +
               tc::dtype_name(b.dtype) + ", device=" + std::to_string(b.device()) + ")";
      });

  py::class_<tc::Arena, std::shared_ptr<tc::Arena>>(
      m, "Arena",
      "Arena(nbytes: int, device: int = 0): one cudaMalloc of nbytes up front; alloc() hands "
      "out 256-byte aligned DeviceBuffers from it without further CUDA calls, reset() makes "
      "the whole capacity available again. Freed (cudaFree) when the Arena and every "
      "DeviceBuffer / DLPack tensor from it are gone. Raises CudaError when the device or "
      "memory is unavailable.")
      .def(py::init([](int64_t nbytes, int device) {
             if (nbytes <= 0) throw std::invalid_argument("Arena: nbytes must be > 0");
             return std::make_shared<tc::Arena>(static_cast<size_t>(nbytes), device);
           }),
           py::arg("nbytes"), py::arg("device") = 0)
      .def(
          "alloc",
          [](const std::shared_ptr<tc::Arena>& self, const std::vector<int64_t>& shape,
             const std::string& dtype) {
            return tc::DeviceBuffer::allocate(self, shape, tc::parse_dtype(dtype));
          },
          py::arg("shape"), py::arg("dtype") = "float32",
          "alloc(shape: tuple, dtype: str = 'float32') -> DeviceBuffer; dtype one of float32, "
          "float16, int32, int64, int16. MemoryError when the arena is full.")
      .def("reset", &tc::Arena::reset, "Frees every allocation at once (not the memory).")
      .def_property_readonly("capacity", &tc::Arena::capacity, "bytes")
      .def_property_readonly("used", &tc::Arena::used, "bytes handed out (with alignment)")
      .def_property_readonly("device", &tc::Arena::device)
      .def_property_readonly(
          "ptr", [](const tc::Arena& a) { return reinterpret_cast<Pointer>(a.base()); },
          "Base device address (int).")
      .def("__repr__", [](const tc::Arena& a) {
        return "Arena(capacity=" + std::to_string(a.capacity()) + ", used=" +
               std::to_string(a.used()) + ", device=" + std::to_string(a.device()) + ")";
      });

  py::class_<tc::Stream, std::shared_ptr<tc::Stream>>(
      m, "Stream",
      "Stream(device: int = 0): a non-blocking CUDA stream (cudaStreamNonBlocking), destroyed "
      "with the object. `handle` is the cudaStream_t as an int, usable by torch "
      "(torch.cuda.ExternalStream), ONNX Runtime and TensorRT.")
      .def(py::init<int>(), py::arg("device") = 0)
      .def_property_readonly(
          "handle", [](const tc::Stream& s) { return reinterpret_cast<Pointer>(s.get()); })
      .def_property_readonly("device", &tc::Stream::device)
      .def("synchronize", &tc::Stream::synchronize, py::call_guard<py::gil_scoped_release>(),
           "Waits for all work on the stream (GIL released).");

  m.def(
      "durations_to_frames",
      [](Pointer log_durations, Pointer token_lengths, int64_t batch, int64_t max_tokens,
         float speed, Pointer frames, Pointer frame_lengths, Pointer stream) {
        tc::durations_to_frames(as_pointer<const float>(log_durations),
                                as_pointer<const int64_t>(token_lengths), batch, max_tokens,
                                speed, as_pointer<int32_t>(frames),
                                as_pointer<int64_t>(frame_lengths), tc::stream_from_handle(stream));
      },
      py::arg("log_durations_ptr"), py::arg("token_lengths_ptr"), py::arg("batch"),
      py::arg("max_tokens"), py::arg("speed"), py::arg("frames_ptr"),
      py::arg("frame_lengths_ptr"), py::arg("stream") = 0,
      py::call_guard<py::gil_scoped_release>(),
      "durations_to_frames(log_durations_ptr, token_lengths_ptr, batch, max_tokens, speed, "
      "frames_ptr, frame_lengths_ptr, stream=0): float32 [B, T] log(1 + frames), int64 [B] "
      "lengths -> int32 [B, T] frames, int64 [B] totals; _core.durations_to_frames semantics "
      "(cumulative rounding in double, one frame on the longest token of a non-empty row "
      "that rounds to zero, +inf saturated, total -1 for a row with a NaN).");
  m.def(
      "expand_frames",
      [](Pointer hidden, Pointer frames, int64_t batch, int64_t max_tokens, int64_t dim,
         int64_t max_frames, Pointer out, const std::string& dtype, Pointer stream) {
        const tc::DType parsed = tc::parse_dtype(dtype);
        tc::expand_frames(as_pointer<const void>(hidden), as_pointer<const int32_t>(frames), batch,
                          max_tokens, dim, max_frames, as_pointer<void>(out), parsed,
                          tc::stream_from_handle(stream));
      },
      py::arg("hidden_ptr"), py::arg("frames_ptr"), py::arg("batch"), py::arg("max_tokens"),
      py::arg("dim"), py::arg("max_frames"), py::arg("out_ptr"), py::arg("dtype") = "float32",
      py::arg("stream") = 0, py::call_guard<py::gil_scoped_release>(),
      "expand_frames(hidden_ptr, frames_ptr, batch, max_tokens, dim, max_frames, out_ptr, "
      "dtype='float32', stream=0): hidden [B, T, D] (float32 or float16) -> out "
      "[B, max_frames, D] repeating token t frames[b, t] times, zero past each row's frames "
      "(_core.expand_frames semantics). Each block scans its row's frames in shared memory "
      "and binary-searches each frame's token: no scratch buffer. max_tokens <= 8192.");
  m.attr("MAX_EXPAND_TOKENS") = tc::kMaxExpandTokens;
}
