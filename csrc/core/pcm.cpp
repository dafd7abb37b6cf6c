#include "pcm.h"

#include <cmath>

namespace ttsengine {

void float_to_pcm16(const float* samples, int64_t count, int16_t* out) {
  for (int64_t i = 0; i < count; ++i) {
    float x = samples[i];
    x = std::isnan(x) ? 0.0f : (x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x));
    out[i] = static_cast<int16_t>(std::lrintf(x * 32767.0f));
  }
}

}  // namespace ttsengine
