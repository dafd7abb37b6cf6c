// ttsengine._core: CPU kernels of the shared synthesis path. Heavy loops release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>
#include <vector>
#include <string>

#include "../core/length_regulator.h"
#include "../core/pcm.h"

namespace py = pybind11;

namespace {

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

void require_ndim(const py::array& array, py::ssize_t ndim, const char* name) {
  if (array.ndim() != ndim) {
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(ndim) +
                                " dimensions, got " + std::to_string(array.ndim()));
  }
}

py::tuple durations_to_frames(CArray<float> log_durations, CArray<int64_t> token_lengths,
                              float speed) {
  require_ndim(log_durations, 2, "log_durations");
  require_ndim(token_lengths, 1, "token_lengths");
  const int64_t batch = log_durations.shape(0);
  const int64_t max_tokens = log_durations.shape(1);
  if (token_lengths.shape(0) != batch) {
    throw std::invalid_argument("token_lengths must have one entry per batch row");
  }
  if (!(speed > 0.0f) || !std::isfinite(speed)) {
    throw std::invalid_argument("speed must be a positive finite number");
  }
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t length = token_lengths.at(b);
    if (length < 0 || length > max_tokens) {
      throw std::invalid_argument("token_lengths out of range [0, max_tokens]");
    }
  }
  CArray<int32_t> frames({batch, max_tokens});
  CArray<int64_t> frame_lengths({batch});
  {
    py::gil_scoped_release release;
    ttsengine::durations_to_frames(log_durations.data(), token_lengths.data(), batch,
                                   max_tokens, speed, frames.mutable_data(),
                                   frame_lengths.mutable_data());
  }
  return py::make_tuple(frames, frame_lengths);
}

CArray<int64_t> frame_index(CArray<int32_t> frames, int64_t max_frames) {
  require_ndim(frames, 2, "frames");
  if (max_frames < 0) throw std::invalid_argument("max_frames must be >= 0");
  const int64_t batch = frames.shape(0);
  CArray<int64_t> index({batch, max_frames});
  {
    py::gil_scoped_release release;
    ttsengine::frame_index(frames.data(), batch, frames.shape(1), max_frames,
                           index.mutable_data());
  }
  return index;
}

CArray<float> expand_frames(CArray<float> hidden, CArray<int32_t> frames, int64_t max_frames,
                            py::object out) {
  require_ndim(hidden, 3, "hidden");
  require_ndim(frames, 2, "frames");
  const int64_t batch = hidden.shape(0);
  const int64_t max_tokens = hidden.shape(1);
  const int64_t dim = hidden.shape(2);
  if (frames.shape(0) != batch || frames.shape(1) != max_tokens) {
    throw std::invalid_argument("frames must be [batch, max_tokens] like hidden");
  }
  if (max_frames < 0) throw std::invalid_argument("max_frames must be >= 0");
  CArray<float> result;
  if (out.is_none()) {
    result = CArray<float>({batch, max_frames, dim});
  } else {
    // A caller-owned buffer: must already be float32, C-contiguous and exactly the size.
    auto buffer = py::array_t<float>::ensure(out);
    if (!buffer || !(buffer.flags() & py::array::c_style) || !buffer.writeable() ||
        buffer.ndim() != 3 || buffer.shape(0) != batch || buffer.shape(1) != max_frames ||
        buffer.shape(2) != dim || !py::isinstance<py::array_t<float>>(out)) {
      throw std::invalid_argument(
          "out must be a writeable C-contiguous float32 array of shape [batch, max_frames, dim]");
    }
    result = py::reinterpret_borrow<CArray<float>>(out);
  }
  {
    py::gil_scoped_release release;
    ttsengine::expand_frames(hidden.data(), frames.data(), batch, max_tokens, dim, max_frames,
                             result.mutable_data());
  }
  return result;
}

CArray<int16_t> float_to_pcm16(CArray<float> samples) {
  CArray<int16_t> out(std::vector<py::ssize_t>(samples.shape(), samples.shape() + samples.ndim()));
  {
    py::gil_scoped_release release;
    ttsengine::float_to_pcm16(samples.data(), samples.size(), out.mutable_data());
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "ttsengine CPU kernels: length regulation and PCM conversion (GIL released).";
  m.def("durations_to_frames", &durations_to_frames, py::arg("log_durations"),
        py::arg("token_lengths"), py::arg("speed") = 1.0f,
        "log(1 + frames) [B, T] -> (frames int32 [B, T], frame_lengths int64 [B]); "
        "frames = max(exp(x) - 1, 0) / speed rounded on the cumulative sum (total preserved).");
  m.def("frame_index", &frame_index, py::arg("frames"), py::arg("max_frames"),
        "frames [B, T] -> index int64 [B, max_frames]: the token each frame repeats, -1 past the end.");
  m.def("expand_frames", &expand_frames, py::arg("hidden"), py::arg("frames"),
        py::arg("max_frames"), py::arg("out") = py::none(),
        "hidden [B, T, D] -> [B, max_frames, D] repeating token t frames[b, t] times; "
        "zero past each row's length. Writes into `out` when given.");
  m.def("float_to_pcm16", &float_to_pcm16, py::arg("samples"),
        "float samples -> int16 (clip to [-1, 1], scale by 32767, round to nearest).");
}
