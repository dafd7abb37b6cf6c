// Float audio -> 16-bit PCM.
#pragma once

#include <cstdint>

namespace ttsengine {

// Clips to [-1, 1], scales by 32767 and rounds to nearest. NaN becomes 0.
void float_to_pcm16(const float* samples, int64_t count, int16_t* out);

}  // namespace ttsengine
