/* nn.GELU (exact, erf) in float, to about one ulp of the exact value, vectorisable and split over
 * as many threads as OpenBLAS uses: the CPU reference of the GELU activation for the language
 * models (ops.h) and the training code's forward and backward (train/layers.c). */
#ifndef BEND_OPS_CPU_GELU_H
#define BEND_OPS_CPU_GELU_H

#include <stdint.h>

/* y = gelu(x) (y may equal x); dx = dy * gelu'(x) (dx may equal dy). */
void bend_gelu_forward(const float *x, int64_t n, float *y);
void bend_gelu_backward(const float *x, const float *dy, int64_t n, float *dx);
/* HF's gelu_new (tanh approximation), y may equal x; one thread. */
void bend_gelu_tanh_forward(const float *x, int64_t n, float *y);

#endif
