// The fused synthesis pipeline over three TensorRT 10 engines (encoder -> length regulator
// -> decoder -> vocoder) on one stream, with every device tensor from one Arena and pinned
// staging for the copies. Tensor names follow ttsengine/export/contract.py.
//
// UNTESTED where it was written: TensorRT cannot be installed there. Written against
// NVIDIA's documented TensorRT 10 C++ API; compiled only where TensorRT is found.
#pragma once

#include <NvInfer.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../cuda/memory.h"

namespace ttsengine::trt {

// A TensorRT failure (mapped to ttsengine._trt.TrtError in Python).
class TrtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Keeps TensorRT's most recent error messages (to put into exceptions); prints nothing.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* message) noexcept override;
  std::string take_errors();

 private:
  std::mutex mutex_;
  std::string errors_;
};

struct PipelineConfig {
  std::string encoder_engine;  // serialized engine files
  std::string decoder_engine;
  std::string vocoder_engine;
  int64_t max_batch = 1;
  int64_t max_tokens = 1;
  int64_t max_frames = 1;
  int64_t d_model = 1;
  int64_t n_mels = 80;
  int64_t hop = 256;
  int device = 0;
};

struct PipelineResult {
  int64_t batch = 0;
  int64_t samples = 0;              // per row: frames * hop, frames = the batch's longest row
  std::vector<float> wave;          // [batch, samples]
  std::vector<int64_t> frame_lengths;  // [batch]
};

class TrtPipeline {
 public:
  explicit TrtPipeline(const PipelineConfig& config);
  ~TrtPipeline();
  TrtPipeline(const TrtPipeline&) = delete;
  TrtPipeline& operator=(const TrtPipeline&) = delete;

  // tokens int64 [batch, num_tokens] (row-major), token_lengths / speakers int64 [batch].
  // One run at a time (the buffers are shared): concurrent calls are serialized.
  PipelineResult run(const int64_t* tokens, const int64_t* token_lengths,
                     const int64_t* speakers, int64_t batch, int64_t num_tokens, float speed);

  const PipelineConfig& config() const noexcept { return config_; }

 private:
  struct Engine;

  void enqueue(Engine& engine, const char* what);

  PipelineConfig config_;
  Logger logger_;
  std::mutex run_mutex_;
  std::unique_ptr<nvinfer1::IRuntime> runtime_;
  std::unique_ptr<Engine> encoder_, decoder_, vocoder_;
  std::shared_ptr<cuda::Arena> arena_;
  std::unique_ptr<cuda::Stream> stream_;
  std::unique_ptr<cuda::PinnedBuffer> staging_;  // inputs, then frame lengths, then the wave
  cuda::DeviceBuffer tokens_, token_lengths_, speakers_, hidden_, log_durations_, frames_,
      frame_lengths_, expanded_, mel_, wave_;
};

}  // namespace ttsengine::trt
