// ttsengine._core: CPU kernels of the shared synthesis path. Heavy loops release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>
#include <vector>
#include <string>
#include <tuple>

#include "../core/alignment.h"
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

// log_probs [T_mel, T_text] -> durations int32 [T_text]; or [B, T_mel, T_text] with
// optional mel_lengths / text_lengths int64 [B] -> durations int32 [B, T_text].
CArray<int32_t> monotonic_alignment_search(CArray<float> log_probs, py::object mel_lengths,
                                           py::object text_lengths) {
  const bool single = log_probs.ndim() == 2;
  if (!single && log_probs.ndim() != 3) {
    throw std::invalid_argument("log_probs must be [T_mel, T_text] or [B, T_mel, T_text]");
  }
  const int64_t batch = single ? 1 : log_probs.shape(0);
  const int64_t max_mel = log_probs.shape(single ? 0 : 1);
  const int64_t max_text = log_probs.shape(single ? 1 : 2);
  std::vector<int64_t> mel_len(static_cast<size_t>(batch), max_mel);
  std::vector<int64_t> text_len(static_cast<size_t>(batch), max_text);
  for (auto [obj, vec, limit, name] :
       {std::make_tuple(mel_lengths, &mel_len, max_mel, "mel_lengths"),
        std::make_tuple(text_lengths, &text_len, max_text, "text_lengths")}) {
    if (obj.is_none()) continue;
    if (single) throw std::invalid_argument(std::string(name) + " needs batched log_probs");
    auto lengths = py::cast<CArray<int64_t>>(obj);
    require_ndim(lengths, 1, name);
    if (lengths.shape(0) != batch) {
      throw std::invalid_argument(std::string(name) + " must have one entry per batch row");
    }
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t v = lengths.at(b);
      if (v < 1 || v > limit) {
        throw std::invalid_argument(std::string(name) + " out of range [1, " +
                                    std::to_string(limit) + "]");
      }
      (*vec)[static_cast<size_t>(b)] = v;
    }
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (max_mel < 1 || max_text < 1 || mel_len[static_cast<size_t>(b)] < text_len[static_cast<size_t>(b)]) {
      throw std::invalid_argument(
          "monotonic alignment needs at least one frame per token (T_mel >= T_text >= 1); row " +
          std::to_string(b) + " has " + std::to_string(mel_len[static_cast<size_t>(b)]) +
          " frames for " + std::to_string(text_len[static_cast<size_t>(b)]) + " tokens");
    }
  }
  CArray<int32_t> durations = single ? CArray<int32_t>({max_text}) : CArray<int32_t>({batch, max_text});
  {
    py::gil_scoped_release release;
    int32_t* out = durations.mutable_data();
    const float* data = log_probs.data();
    for (int64_t b = 0; b < batch; ++b) {
      int32_t* row = out + b * max_text;
      for (int64_t j = 0; j < max_text; ++j) row[j] = 0;
      ttsengine::monotonic_alignment_search(data + b * max_mel * max_text,
                                            mel_len[static_cast<size_t>(b)],
                                            text_len[static_cast<size_t>(b)], max_text, row);
    }
  }
  return durations;
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
  m.def("monotonic_alignment_search", &monotonic_alignment_search, py::arg("log_probs"),
        py::arg("mel_lengths") = py::none(), py::arg("text_lengths") = py::none(),
        "Most likely monotonic hard alignment: log_probs float32 [T_mel, T_text] -> "
        "durations int32 [T_text], or [B, T_mel, T_text] (+ mel_lengths, text_lengths int64 [B]) "
        "-> int32 [B, T_text] (0 past each text length). Every token gets >= 1 frame.");
}
