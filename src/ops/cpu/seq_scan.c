/* CPU backend: Mamba's selective scan (ops_seq.h). Time is the outer loop, so the state [E, N]
 * stays in the workspace and every row of u, delta, z, B, C is read once, contiguously. */
#include <math.h>
#include <string.h>

#include "ops/ops_seq.h"

size_t bend_op_selective_scan_workspace(const bend_ops *o, int64_t E, int64_t N)
{
    (void)o;
    return (size_t)(E * N) * sizeof(float);
}

void bend_op_selective_scan(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t E,
                            int64_t N, const float *u, int64_t ldu, const float *delta,
                            int64_t ldd, const float *A, const float *B, int64_t ldb,
                            const float *C, int64_t ldc, const float *Dskip, const float *z,
                            int64_t ldz, float *y, int64_t ldy, void *workspace)
{
    (void)o;
    float *s = workspace;
    for (int w = 0; w < n_windows; w++) {
        memset(s, 0, (size_t)(E * N) * sizeof *s);
        for (int64_t r = offsets[w]; r < offsets[w + 1]; r++) {
            const float *ur = u + r * ldu, *dr = delta + r * ldd;
            const float *br = B + r * ldb, *cr = C + r * ldc;
            for (int64_t e = 0; e < E; e++) {
                float d = dr[e], du = d * ur[e], acc = 0.0f;
                float *se = s + e * N;
                const float *ae = A + e * N;
                for (int64_t n = 0; n < N; n++) {
                    se[n] = expf(d * ae[n]) * se[n] + du * br[n];
                    acc += se[n] * cr[n];
                }
                if (Dskip) acc += Dskip[e] * ur[e];
                if (z) {
                    float g = z[r * ldz + e];
                    acc *= g / (1.0f + expf(-g));
                }
                y[r * ldy + e] = acc;
            }
        }
    }
}
