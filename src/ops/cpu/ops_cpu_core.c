/* CPU backend: host memory, and the dense linear algebra on OpenBLAS's cblas_sgemm. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops_cuda_entry.h"

static const bend_ops cpu_ops = {.kind = BEND_DEVICE_CPU, .impl = NULL};

const bend_ops *bend_ops_cpu(void)
{
    return &cpu_ops;
}

bend_status bend_ops_alloc(const bend_ops *o, size_t bytes, void **out, bend_error *err)
{
    BEND_OPS_DISPATCH_RET(o, bend_cuda_ops_alloc(o, bytes, out, err));
    (void)o;
    /* aligned_alloc needs a size that is a multiple of the alignment */
    size_t n = (bytes + 63) / 64 * 64;
    *out = aligned_alloc(64, n ? n : 64);
    if (!*out)
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory allocating %zu bytes of CPU work memory",
                         bytes);
    return BEND_OK;
}

void bend_ops_free(const bend_ops *o, void *p)
{
    BEND_OPS_DISPATCH(o, bend_cuda_ops_free(o, p));
    (void)o;
    free(p);
}

void bend_ops_upload(const bend_ops *o, void *dst, const void *host_src, size_t bytes)
{
    BEND_OPS_DISPATCH(o, bend_cuda_ops_upload(o, dst, host_src, bytes));
    (void)o;
    if (bytes) memcpy(dst, host_src, bytes);
}

void bend_ops_download(const bend_ops *o, void *host_dst, const void *src, size_t bytes)
{
    BEND_OPS_DISPATCH(o, bend_cuda_ops_download(o, host_dst, src, bytes));
    (void)o;
    if (bytes) memcpy(host_dst, src, bytes);
}

void bend_ops_copy(const bend_ops *o, void *dst, const void *src, size_t bytes)
{
    BEND_OPS_DISPATCH(o, bend_cuda_ops_copy(o, dst, src, bytes));
    (void)o;
    if (bytes && dst != src) memmove(dst, src, bytes);
}

bend_status bend_ops_sync(const bend_ops *o, bend_error *err)
{
    BEND_OPS_DISPATCH_RET(o, bend_cuda_ops_sync(o, err));
    (void)o;
    (void)err;
    return BEND_OK;
}

void bend_op_gemm(const bend_ops *o, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_gemm(o, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    (void)o;
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* C = beta * C; BLAS would do the same, but some reject k = 0 */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

void bend_op_linear(const bend_ops *o, int64_t rows, int64_t in, int64_t out, const float *x,
                    int64_t ldx, const float *w, const float *bias, float beta, float *y,
                    int64_t ldy)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_linear(o, rows, in, out, x, ldx, w, bias, beta, y, ldy));
    if (rows <= 0 || out <= 0) return;
    /* The bias goes into y first so that one GEMM with beta = 1 adds the product. */
    if (bias) {
        for (int64_t t = 0; t < rows; t++) {
            float *yr = y + t * ldy;
            if (beta == 0.0f)
                memcpy(yr, bias, (size_t)out * sizeof *yr);
            else
                for (int64_t j = 0; j < out; j++) yr[j] = beta * yr[j] + bias[j];
        }
        beta = 1.0f;
    }
    bend_op_gemm(o, false, true, rows, out, in, 1.0f, x, ldx, w, in, beta, y, ldy);
}
