// See trt_pipeline.h. UNTESTED: no TensorRT where this was written.
#include "trt_pipeline.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "../cuda/check.h"
#include "../cuda/kernels.h"

namespace ttsengine::trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::Dims;

Dims make_dims(std::initializer_list<int64_t> values) {
  Dims dims{};
  dims.nbDims = static_cast<int32_t>(values.size());
  int32_t i = 0;
  for (const int64_t v : values) dims.d[i++] = v;
  return dims;
}

std::string dims_string(const Dims& dims) {
  std::string text = "[";
  for (int32_t i = 0; i < dims.nbDims; ++i) text += (i ? ", " : "") + std::to_string(dims.d[i]);
  return text + "]";
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TrtError("cannot open TensorRT engine file " + path);
  std::vector<char> data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (data.empty()) throw TrtError("TensorRT engine file " + path + " is empty");
  return data;
}

size_t aligned(size_t nbytes) {
  return (nbytes + cuda::Arena::kAlignment - 1) / cuda::Arena::kAlignment * cuda::Arena::kAlignment;
}

}  // namespace

void Logger::log(Severity severity, const char* message) noexcept {
  if (severity > Severity::kERROR) return;
  try {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!errors_.empty()) errors_ += "; ";
    errors_ += message;
  } catch (...) {  // logging must not throw into TensorRT
  }
}

std::string Logger::take_errors() {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::string errors;
  errors.swap(errors_);
  return errors.empty() ? "" : " (TensorRT: " + errors + ")";
}

struct TrtPipeline::Engine {
  std::string name;
  std::unique_ptr<nvinfer1::ICudaEngine> engine;
  std::unique_ptr<nvinfer1::IExecutionContext> context;

  // Checks that the engine has tensor `tensor` of dtype `type` (the ONNX I/O contract).
  void expect(const char* tensor, DataType type, const char* type_name) const {
    for (int32_t i = 0; i < engine->getNbIOTensors(); ++i) {
      if (std::strcmp(engine->getIOTensorName(i), tensor) != 0) continue;
      if (engine->getTensorDataType(tensor) != type) {
        throw TrtError(name + " engine: tensor '" + tensor + "' must be " + type_name);
      }
      return;
    }
    throw TrtError(name + " engine has no tensor '" + tensor + "' (see ttsengine/export/contract.py)");
  }

  void set_shape(const char* tensor, const Dims& dims, Logger& logger) {
    if (!context->setInputShape(tensor, dims)) {
      throw TrtError(name + " engine: input shape " + dims_string(dims) + " for '" + tensor +
                     "' is outside its optimization profile" + logger.take_errors());
    }
  }

  void bind(const char* tensor, const cuda::DeviceBuffer& buffer, Logger& logger) {
    if (!context->setTensorAddress(tensor, buffer.data)) {
      throw TrtError(name + " engine: setTensorAddress('" + tensor + "') failed" +
                     logger.take_errors());
    }
  }

  // The shape TensorRT computed for an output must be `expected`.
  void check_output(const char* tensor, const Dims& expected) const {
    const Dims actual = context->getTensorShape(tensor);
    bool same = actual.nbDims == expected.nbDims;
    for (int32_t i = 0; same && i < actual.nbDims; ++i) same = actual.d[i] == expected.d[i];
    if (!same) {
      throw TrtError(name + " engine: output '" + tensor + "' has shape " + dims_string(actual) +
                     ", expected " + dims_string(expected));
    }
  }
};

TrtPipeline::TrtPipeline(const PipelineConfig& config) : config_(config) {
  const PipelineConfig& c = config_;
  for (const int64_t v : {c.max_batch, c.max_tokens, c.max_frames, c.d_model, c.n_mels, c.hop}) {
    if (v <= 0) throw std::invalid_argument("TrtPipeline: every size must be > 0");
  }
  if (c.max_tokens > cuda::kMaxExpandTokens) {
    throw std::invalid_argument("TrtPipeline: max_tokens must be <= " +
                                std::to_string(cuda::kMaxExpandTokens));
  }
  const cuda::DeviceGuard guard(c.device);
  runtime_.reset(nvinfer1::createInferRuntime(logger_));
  if (!runtime_) throw TrtError("createInferRuntime failed" + logger_.take_errors());
  auto load = [&](const std::string& name, const std::string& path) {
    auto engine = std::make_unique<Engine>();
    engine->name = name;
    const std::vector<char> blob = read_file(path);
    engine->engine.reset(runtime_->deserializeCudaEngine(blob.data(), blob.size()));
    if (!engine->engine) {
      throw TrtError("cannot deserialize the " + name + " engine " + path +
                     " (built for another TensorRT version or GPU?)" + logger_.take_errors());
    }
    engine->context.reset(engine->engine->createExecutionContext());
    if (!engine->context) {
      throw TrtError("cannot create an execution context for " + path + logger_.take_errors());
    }
    return engine;
  };
  encoder_ = load("encoder", c.encoder_engine);
  decoder_ = load("decoder", c.decoder_engine);
  vocoder_ = load("vocoder", c.vocoder_engine);
  for (const char* name : {"tokens", "token_lengths", "speakers"}) {
    encoder_->expect(name, DataType::kINT64, "int64");
  }
  encoder_->expect("hidden", DataType::kFLOAT, "float32");
  encoder_->expect("log_durations", DataType::kFLOAT, "float32");
  decoder_->expect("frames", DataType::kFLOAT, "float32");
  decoder_->expect("frame_lengths", DataType::kINT64, "int64");
  decoder_->expect("mel", DataType::kFLOAT, "float32");
  vocoder_->expect("mel", DataType::kFLOAT, "float32");
  vocoder_->expect("frame_lengths", DataType::kINT64, "int64");
  vocoder_->expect("wave", DataType::kFLOAT, "float32");

  const int64_t B = c.max_batch, T = c.max_tokens, F = c.max_frames;
  using cuda::DType;
  const std::vector<std::pair<std::vector<int64_t>, DType>> layout = {
      {{B, T}, DType::kInt64},           {{B}, DType::kInt64},
      {{B}, DType::kInt64},              {{B, T, c.d_model}, DType::kFloat32},
      {{B, T}, DType::kFloat32},         {{B, T}, DType::kInt32},
      {{B}, DType::kInt64},              {{B, F, c.d_model}, DType::kFloat32},
      {{B, c.n_mels, F}, DType::kFloat32}, {{B, F * c.hop}, DType::kFloat32}};
  size_t total = 0;
  for (const auto& [shape, dtype] : layout) total += aligned(cuda::byte_size(shape, dtype));
  arena_ = std::make_shared<cuda::Arena>(total, c.device);
  std::vector<cuda::DeviceBuffer> buffers;
  for (const auto& [shape, dtype] : layout) {
    buffers.push_back(cuda::DeviceBuffer::allocate(arena_, shape, dtype));
  }
  tokens_ = buffers[0], token_lengths_ = buffers[1], speakers_ = buffers[2];
  hidden_ = buffers[3], log_durations_ = buffers[4], frames_ = buffers[5];
  frame_lengths_ = buffers[6], expanded_ = buffers[7], mel_ = buffers[8], wave_ = buffers[9];
  stream_ = std::make_unique<cuda::Stream>(c.device);
  const size_t inputs = static_cast<size_t>(B * T + 2 * B + B) * sizeof(int64_t);
  staging_ = std::make_unique<cuda::PinnedBuffer>(std::max(inputs, wave_.nbytes));
}

TrtPipeline::~TrtPipeline() {
  if (stream_) cudaStreamSynchronize(stream_->get());  // nothing may still use the buffers
  // TensorRT objects go before the runtime: contexts, then engines (Engine's member order).
  encoder_.reset();
  decoder_.reset();
  vocoder_.reset();
}

void TrtPipeline::enqueue(Engine& engine, const char* what) {
  if (!engine.context->enqueueV3(stream_->get())) {
    throw TrtError(std::string(what) + " engine: enqueueV3 failed" + logger_.take_errors());
  }
}

PipelineResult TrtPipeline::run(const int64_t* tokens, const int64_t* token_lengths,
                                const int64_t* speakers, int64_t batch, int64_t num_tokens,
                                float speed) {
  const PipelineConfig& c = config_;
  if (batch < 1 || batch > c.max_batch || num_tokens < 1 || num_tokens > c.max_tokens) {
    throw std::invalid_argument("TrtPipeline.run: need 1 <= batch <= " + std::to_string(c.max_batch) +
                                " and 1 <= tokens <= " + std::to_string(c.max_tokens) + ", got [" +
                                std::to_string(batch) + ", " + std::to_string(num_tokens) + "]");
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (token_lengths[b] < 0 || token_lengths[b] > num_tokens) {
      throw std::invalid_argument("TrtPipeline.run: token_lengths out of range [0, tokens]");
    }
  }
  const std::lock_guard<std::mutex> lock(run_mutex_);
  const cuda::DeviceGuard guard(c.device);
  const cudaStream_t stream = stream_->get();
  const int64_t B = batch, T = num_tokens, D = c.d_model;

  // Inputs -> pinned staging -> device. [tokens | token_lengths | speakers | frame_lengths]
  auto* staged = static_cast<int64_t*>(staging_->data());
  std::memcpy(staged, tokens, sizeof(int64_t) * B * T);
  std::memcpy(staged + B * T, token_lengths, sizeof(int64_t) * B);
  std::memcpy(staged + B * T + B, speakers, sizeof(int64_t) * B);
  int64_t* staged_frame_lengths = staged + B * T + 2 * B;
  TTS_CUDA_CHECK(cudaMemcpyAsync(tokens_.data, staged, sizeof(int64_t) * B * T,
                                 cudaMemcpyHostToDevice, stream));
  TTS_CUDA_CHECK(cudaMemcpyAsync(token_lengths_.data, staged + B * T, sizeof(int64_t) * B,
                                 cudaMemcpyHostToDevice, stream));
  TTS_CUDA_CHECK(cudaMemcpyAsync(speakers_.data, staged + B * T + B, sizeof(int64_t) * B,
                                 cudaMemcpyHostToDevice, stream));

  // Encoder -> durations -> frame lengths to the host (F decides every later shape).
  encoder_->set_shape("tokens", make_dims({B, T}), logger_);
  encoder_->set_shape("token_lengths", make_dims({B}), logger_);
  encoder_->set_shape("speakers", make_dims({B}), logger_);
  encoder_->bind("tokens", tokens_, logger_);
  encoder_->bind("token_lengths", token_lengths_, logger_);
  encoder_->bind("speakers", speakers_, logger_);
  encoder_->bind("hidden", hidden_, logger_);
  encoder_->bind("log_durations", log_durations_, logger_);
  encoder_->check_output("hidden", make_dims({B, T, D}));
  enqueue(*encoder_, "encoder");
  cuda::durations_to_frames(static_cast<const float*>(log_durations_.data),
                            static_cast<const int64_t*>(token_lengths_.data), B, T, speed,
                            static_cast<int32_t*>(frames_.data),
                            static_cast<int64_t*>(frame_lengths_.data), stream);
  TTS_CUDA_CHECK(cudaMemcpyAsync(staged_frame_lengths, frame_lengths_.data, sizeof(int64_t) * B,
                                 cudaMemcpyDeviceToHost, stream));
  stream_->synchronize();
  PipelineResult result;
  result.batch = B;
  result.frame_lengths.assign(staged_frame_lengths, staged_frame_lengths + B);
  const int64_t F = *std::max_element(result.frame_lengths.begin(), result.frame_lengths.end());
  if (F > c.max_frames) {
    throw std::invalid_argument("TrtPipeline.run: the input needs " + std::to_string(F) +
                                " frames, the pipeline was made for max_frames=" +
                                std::to_string(c.max_frames) + " (split the text or raise it)");
  }
  if (F <= 0) return result;  // only empty rows, or every row non-finite (-1): the caller checks

  // Length regulation, decoder, vocoder, wave to the host.
  cuda::expand_frames(hidden_.data, static_cast<const int32_t*>(frames_.data), B, T, D, F,
                      expanded_.data, cuda::DType::kFloat32, stream);
  decoder_->set_shape("frames", make_dims({B, F, D}), logger_);
  decoder_->set_shape("frame_lengths", make_dims({B}), logger_);
  decoder_->bind("frames", expanded_, logger_);
  decoder_->bind("frame_lengths", frame_lengths_, logger_);
  decoder_->bind("mel", mel_, logger_);
  decoder_->check_output("mel", make_dims({B, c.n_mels, F}));
  enqueue(*decoder_, "decoder");
  vocoder_->set_shape("mel", make_dims({B, c.n_mels, F}), logger_);
  vocoder_->set_shape("frame_lengths", make_dims({B}), logger_);
  vocoder_->bind("mel", mel_, logger_);
  vocoder_->bind("frame_lengths", frame_lengths_, logger_);
  vocoder_->bind("wave", wave_, logger_);
  vocoder_->check_output("wave", make_dims({B, F * c.hop}));
  enqueue(*vocoder_, "vocoder");
  result.samples = F * c.hop;
  const size_t wave_bytes = sizeof(float) * static_cast<size_t>(B * result.samples);
  TTS_CUDA_CHECK(cudaMemcpyAsync(staging_->data(), wave_.data, wave_bytes,
                                 cudaMemcpyDeviceToHost, stream));
  stream_->synchronize();
  const auto* wave = static_cast<const float*>(staging_->data());
  result.wave.assign(wave, wave + B * result.samples);
  return result;
}

}  // namespace ttsengine::trt
