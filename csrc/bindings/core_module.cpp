// ttsengine._core: CPU kernels of the shared synthesis path. Heavy loops release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "../core/alignment.h"
#include "../core/length_regulator.h"
#include "../core/pcm.h"
#include "../core/resample.h"

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

using Shape = std::vector<py::ssize_t>;

std::string shape_text(const Shape& shape) {
  std::ostringstream text;
  text << "(";
  for (size_t i = 0; i < shape.size(); ++i) text << (i ? ", " : "") << shape[i];
  text << (shape.size() == 1 ? ",)" : ")");
  return text.str();
}

// Why `out` cannot be written as a T array: "" when it can. Shape is checked by callers.
template <typename T>
std::string unusable_buffer(const py::object& out) {
  if (!py::isinstance<py::array>(out)) return "got " + std::string(py::str(py::type::of(out)));
  const auto array = py::reinterpret_borrow<py::array>(out);
  if (!py::isinstance<py::array_t<T>>(out)) {
    return "got dtype " + std::string(py::str(array.dtype()));
  }
  if (!(array.flags() & py::array::c_style)) return "got a non-contiguous array";
  if (!array.writeable()) return "got a read-only array";
  return "";
}

[[noreturn]] void bad_buffer(const char* name, const std::string& wanted,
                             const std::string& problem) {
  throw std::invalid_argument(std::string(name) + " must be a writeable C-contiguous " +
                              wanted + "; " + problem);
}

// The caller's buffer `out` (a writeable C-contiguous T array of exactly `shape`, returned
// as the same object) or, for None, a new array.
template <typename T>
CArray<T> output_array(const py::object& out, const Shape& shape, const char* name) {
  if (out.is_none()) return CArray<T>(shape);
  const std::string wanted =
      std::string(py::str(py::dtype::of<T>())) + " array of shape " + shape_text(shape);
  std::string problem = unusable_buffer<T>(out);
  if (problem.empty()) {
    const auto array = py::reinterpret_borrow<py::array>(out);
    const Shape got(array.shape(), array.shape() + array.ndim());
    if (got != shape) problem = "got shape " + shape_text(got);
  }
  if (!problem.empty()) bad_buffer(name, wanted, problem);
  return py::reinterpret_borrow<CArray<T>>(out);
}

// A caller's 1-D float32 buffer of at least `size` samples (or a new one of `size`).
CArray<float> output_samples(const py::object& out, py::ssize_t size, const char* name) {
  if (out.is_none()) return CArray<float>({size});
  const std::string wanted = "float32 1-D array of at least " + std::to_string(size) + " samples";
  std::string problem = unusable_buffer<float>(out);
  if (problem.empty()) {
    const auto array = py::reinterpret_borrow<py::array>(out);
    if (array.ndim() != 1) {
      problem = "got " + std::to_string(array.ndim()) + " dimensions";
    } else if (array.shape(0) < size) {
      problem = "got " + std::to_string(array.shape(0)) + " samples";
    }
  }
  if (!problem.empty()) bad_buffer(name, wanted, problem);
  return py::reinterpret_borrow<CArray<float>>(out);
}

py::tuple durations_to_frames(CArray<float> log_durations, CArray<int64_t> token_lengths,
                              float speed, const py::object& frames_out,
                              const py::object& frame_lengths_out) {
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
  auto frames = output_array<int32_t>(frames_out, {batch, max_tokens}, "frames");
  auto frame_lengths = output_array<int64_t>(frame_lengths_out, {batch}, "frame_lengths");
  {
    py::gil_scoped_release release;
    ttsengine::durations_to_frames(log_durations.data(), token_lengths.data(), batch,
                                   max_tokens, speed, frames.mutable_data(),
                                   frame_lengths.mutable_data());
  }
  return py::make_tuple(frames, frame_lengths);
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
  auto result = output_array<float>(out, {batch, max_frames, dim}, "out");
  {
    py::gil_scoped_release release;
    ttsengine::expand_frames(hidden.data(), frames.data(), batch, max_tokens, dim, max_frames,
                             result.mutable_data());
  }
  return result;
}

CArray<int16_t> float_to_pcm16(CArray<float> samples, const py::object& out) {
  auto pcm = output_array<int16_t>(out, Shape(samples.shape(), samples.shape() + samples.ndim()),
                                   "out");
  {
    py::gil_scoped_release release;
    ttsengine::float_to_pcm16(samples.data(), samples.size(), pcm.mutable_data());
  }
  return pcm;
}

bool overlap(const py::array& a, const py::array& b) {
  const auto* a_begin = static_cast<const char*>(a.data());
  const auto* b_begin = static_cast<const char*>(b.data());
  return a.nbytes() > 0 && b.nbytes() > 0 && a_begin < b_begin + b.nbytes() &&
         b_begin < a_begin + a.nbytes();
}

// Polyphase resampler: an immutable filter (process() is const, safe to share between
// threads) plus the streaming state of push()/flush(), which one caller at a time may use.
class PolyphaseResampler {
 public:
  PolyphaseResampler(int64_t up, int64_t down, CArray<float> taps)
      : filter_(up, down, taps.data(), checked_taps(taps)), stream_(filter_) {}

  int64_t output_length(int64_t n_in) const {
    if (n_in < 0) throw std::invalid_argument("n_in must be >= 0");
    return filter_.output_length(n_in);
  }

  int64_t max_output(int64_t n_in) const {
    if (n_in < 0) throw std::invalid_argument("n_in must be >= 0");
    return stream_.max_output(n_in);
  }

  // x [..., n_in] -> [..., output_length(n_in)], each row on its own (zero-padded edges).
  CArray<float> process(CArray<float> x, const py::object& out) const {
    if (x.ndim() < 1) throw std::invalid_argument("x must have at least 1 dimension");
    Shape shape(x.shape(), x.shape() + x.ndim());
    const int64_t n_in = shape.back();
    const int64_t n_out = filter_.output_length(n_in);
    shape.back() = n_out;
    auto y = output_array<float>(out, shape, "out");
    if (overlap(x, y)) throw std::invalid_argument("out must not overlap x");
    const int64_t rows = n_in > 0 ? x.size() / n_in : 0;
    {
      py::gil_scoped_release release;
      for (int64_t r = 0; r < rows; ++r) {
        filter_.compute(x.data() + r * n_in, 0, n_in, 0, n_out, y.mutable_data() + r * n_out);
      }
    }
    return y;
  }

  py::object push(CArray<float> x, const py::object& out) {
    require_ndim(x, 1, "x");
    const Busy busy(busy_);
    const int64_t n = x.shape(0);
    auto y = output_samples(out, out.is_none() ? stream_.push_count(n) : stream_.max_output(n),
                            "out");
    stream_.reserve(n);
    int64_t count = 0;
    {
      py::gil_scoped_release release;
      count = stream_.push(x.data(), n, y.mutable_data());
    }
    return out.is_none() ? py::object(y) : y[py::slice(0, count, 1)];
  }

  py::object flush(const py::object& out) {
    const Busy busy(busy_);
    auto y = output_samples(out, out.is_none() ? stream_.flush_count() : stream_.max_output(0),
                            "out");
    int64_t count = 0;
    {
      py::gil_scoped_release release;
      count = stream_.flush(y.mutable_data());
    }
    return out.is_none() ? py::object(y) : y[py::slice(0, count, 1)];
  }

  void reset() {
    const Busy busy(busy_);
    stream_.reset();
  }

  int64_t up() const { return filter_.up(); }
  int64_t down() const { return filter_.down(); }

 private:
  // Refuses a streaming call while another one (in another thread) is running.
  class Busy {
   public:
    explicit Busy(std::atomic<bool>& flag) : flag_(flag) {
      if (flag_.exchange(true)) {
        throw std::runtime_error("PolyphaseResampler: overlapping push/flush/reset calls");
      }
    }
    ~Busy() { flag_.store(false); }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;

   private:
    std::atomic<bool>& flag_;
  };

  static int64_t checked_taps(const CArray<float>& taps) {
    require_ndim(taps, 1, "taps");
    return taps.shape(0);
  }

  ttsengine::PolyphaseFilter filter_;
  ttsengine::PolyphaseStream stream_;
  std::atomic<bool> busy_{false};
};

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
  m.doc() =
      "ttsengine CPU kernels: length regulation, PCM conversion, polyphase resampling and "
      "streaming windows (GIL released). `out=` buffers must be writeable C-contiguous arrays "
      "of the exact dtype; inputs already C-contiguous of the right dtype are not copied.";
  m.def("durations_to_frames", &durations_to_frames, py::arg("log_durations"),
        py::arg("token_lengths"), py::arg("speed") = 1.0f, py::kw_only(),
        py::arg("frames") = py::none(), py::arg("frame_lengths") = py::none(),
        "log(1 + frames) [B, T] -> (frames int32 [B, T], frame_lengths int64 [B]); "
        "frames = max(exp(x) - 1, 0) / speed rounded on the cumulative sum (total preserved). "
        "-inf is 0 frames; +inf and huge values saturate at 2**30 frames per token; a row "
        "with a NaN among its tokens gets zero frames and frame_lengths -1 (refuse it). "
        "Writes into (and returns) `frames` / `frame_lengths` when given.");
  m.def("expand_frames", &expand_frames, py::arg("hidden"), py::arg("frames"),
        py::arg("max_frames"), py::arg("out") = py::none(),
        "hidden [B, T, D] -> [B, max_frames, D] repeating token t frames[b, t] times; "
        "zero past each row's length. Writes into (and returns) `out` when given.");
  m.def("float_to_pcm16", &float_to_pcm16, py::arg("samples"), py::kw_only(),
        py::arg("out") = py::none(),
        "float samples -> int16 of the same shape (clip to [-1, 1], scale by 32767, round to "
        "nearest, NaN -> 0). Writes into (and returns) `out` when given.");
  py::class_<PolyphaseResampler>(m, "PolyphaseResampler",
                                 "Polyphase FIR resampling by up/down (coprime): "
                                 "scipy.signal.resample_poly(x, up, down, window=taps) one-shot "
                                 "(process) or streaming (push/flush). taps: odd-length float32 "
                                 "FIR at the upsampled rate (scaled by up internally).")
      .def(py::init<int64_t, int64_t, CArray<float>>(), py::arg("up"), py::arg("down"),
           py::arg("taps"))
      .def_property_readonly("up", &PolyphaseResampler::up)
      .def_property_readonly("down", &PolyphaseResampler::down)
      .def("output_length", &PolyphaseResampler::output_length, py::arg("n_in"),
           "ceil(n_in * up / down): the length process() returns.")
      .def("max_output", &PolyphaseResampler::max_output, py::arg("n_in"),
           "The most samples push() of n_in samples (or flush(), n_in = 0) can return: the "
           "size an `out` buffer for them needs.")
      .def("process", &PolyphaseResampler::process, py::arg("x"), py::kw_only(),
           py::arg("out") = py::none(),
           "float32 [..., n] -> [..., output_length(n)] along the last axis, edges zero-padded. "
           "Stateless: safe to call from several threads at once. Writes into (and returns) "
           "`out` when given.")
      .def("push", &PolyphaseResampler::push, py::arg("x"), py::kw_only(),
           py::arg("out") = py::none(),
           "Feeds 1-D float32 input; returns the outputs already final (their inputs all seen). "
           "With `out` (at least max_output(len(x)) samples) returns a view of its head.")
      .def("flush", &PolyphaseResampler::flush, py::kw_only(), py::arg("out") = py::none(),
           "Returns the remaining outputs (edge zero-padded) and starts a new signal. With "
           "`out` (at least max_output(0) samples) returns a view of its head.")
      .def("reset", &PolyphaseResampler::reset, "Drops the streaming state: starts a new signal.");
  m.def("monotonic_alignment_search", &monotonic_alignment_search, py::arg("log_probs"),
        py::arg("mel_lengths") = py::none(), py::arg("text_lengths") = py::none(),
        "Most likely monotonic hard alignment: log_probs float32 [T_mel, T_text] -> "
        "durations int32 [T_text], or [B, T_mel, T_text] (+ mel_lengths, text_lengths int64 [B]) "
        "-> int32 [B, T_text] (0 past each text length). Every token gets >= 1 frame.");
}
