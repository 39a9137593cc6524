/* IEEE 754 binary16, for stores written with dtype=float16: round to nearest even, as numpy's
 * astype(np.float16) and PyTorch's .half() do, with overflow to infinity and subnormals kept. */
#ifndef BEND_CORE_HALF_H
#define BEND_CORE_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t bend_f32_to_f16(float x);
float bend_f16_to_f32(uint16_t h);
void bend_f32_to_f16_array(const float *in, uint16_t *out, size_t n);

#endif
