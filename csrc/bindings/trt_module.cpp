// ttsengine._trt: the fused TensorRT pipeline (csrc/trt/trt_pipeline.h). Built only where
// TensorRT 10 is found. UNTESTED where it was written (no TensorRT there).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../cuda/check.h"
#include "../trt/trt_pipeline.h"

namespace py = pybind11;
namespace tt = ttsengine::trt;

namespace {

// ttsengine._cuda.CudaError, kept for the life of the process (translators are never freed).
PyObject* g_cuda_error = nullptr;

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

py::tuple run(tt::TrtPipeline& pipeline, const CArray<int64_t>& tokens,
              const CArray<int64_t>& token_lengths, const CArray<int64_t>& speakers,
              float speed) {
  if (tokens.ndim() != 2) throw std::invalid_argument("tokens must be int64 [batch, tokens]");
  const int64_t batch = tokens.shape(0);
  if (token_lengths.ndim() != 1 || token_lengths.shape(0) != batch || speakers.ndim() != 1 ||
      speakers.shape(0) != batch) {
    throw std::invalid_argument("token_lengths and speakers must be int64 [batch]");
  }
  if (!(speed > 0.0f)) throw std::invalid_argument("speed must be > 0");
  tt::PipelineResult result;
  {
    py::gil_scoped_release release;
    result = pipeline.run(tokens.data(), token_lengths.data(), speakers.data(), batch,
                          tokens.shape(1), speed);
  }
  CArray<float> wave({result.batch, result.samples});
  if (!result.wave.empty()) {
    std::copy(result.wave.begin(), result.wave.end(), wave.mutable_data());
  }
  CArray<int64_t> frame_lengths({result.batch});
  std::copy(result.frame_lengths.begin(), result.frame_lengths.end(),
            frame_lengths.mutable_data());
  return py::make_tuple(wave, frame_lengths);
}

}  // namespace

PYBIND11_MODULE(_trt, m) {
  m.doc() =
      "ttsengine TensorRT pipeline: encoder, decoder and vocoder engines with the CUDA length "
      "regulator between them, on one stream, every tensor from one preallocated arena.";
  // CUDA failures raise ttsengine._cuda.CudaError, TensorRT failures TrtError.
  g_cuda_error = py::object(py::module_::import("ttsengine._cuda").attr("CudaError")).release().ptr();
  py::register_exception<tt::TrtError>(m, "TrtError", PyExc_RuntimeError);
  py::register_local_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const ttsengine::cuda::CudaError& e) {
      PyErr_SetString(g_cuda_error, e.what());
    } catch (const ttsengine::cuda::ArenaFullError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });

  py::class_<tt::TrtPipeline>(
      m, "TrtPipeline",
      "TrtPipeline(encoder_engine, decoder_engine, vocoder_engine, max_batch, max_tokens, "
      "max_frames, d_model, n_mels, hop, device=0): loads three serialized TensorRT engines "
      "(tensor names as in ttsengine/export/contract.py) and allocates every pipeline tensor "
      "for the given maxima up front.")
      .def(py::init([](const std::string& encoder, const std::string& decoder,
                       const std::string& vocoder, int64_t max_batch, int64_t max_tokens,
                       int64_t max_frames, int64_t d_model, int64_t n_mels, int64_t hop,
                       int device) {
             tt::PipelineConfig config;
             config.encoder_engine = encoder;
             config.decoder_engine = decoder;
             config.vocoder_engine = vocoder;
             config.max_batch = max_batch;
             config.max_tokens = max_tokens;
             config.max_frames = max_frames;
             config.d_model = d_model;
             config.n_mels = n_mels;
             config.hop = hop;
             config.device = device;
             py::gil_scoped_release release;
             return new tt::TrtPipeline(config);
           }),
           py::arg("encoder_engine"), py::arg("decoder_engine"), py::arg("vocoder_engine"),
           py::arg("max_batch"), py::arg("max_tokens"), py::arg("max_frames"),
           py::arg("d_model"), py::arg("n_mels"), py::arg("hop"), py::arg("device") = 0)
      .def("run", &run, py::arg("tokens"), py::arg("token_lengths"), py::arg("speakers"),
           py::arg("speed") = 1.0f,
           "run(tokens int64 [B, T], token_lengths int64 [B], speakers int64 [B], speed=1.0) "
           "-> (wave float32 [B, F * hop], frame_lengths int64 [B]); F is the longest row's "
           "frame count, row b's audio is wave[b, :frame_lengths[b] * hop].");
}
