/* CPU backend: softmax attention over packed windows. Queries are taken QB rows at a time so the
 * score buffer is QB x (window length), never L x L: two GEMMs per (window, head, query block)
 * with a numerically stable row softmax between them. BigBird's block-sparse mode (HF eval
 * semantics) selects key blocks per query block instead of all keys. */
#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops_cuda_entry.h"

/* Query rows per score block: large enough that the two GEMMs keep BLAS threads busy, small
 * enough that QB x L scores stay in cache-friendly sizes (L <= 4096: 4 MiB). */
enum { QB = 256 };

static int64_t max_window(const bend_attention_args *a)
{
    int64_t m = 0;
    for (int w = 0; w < a->n_windows; w++)
        if (a->offsets[w + 1] - a->offsets[w] > m) m = a->offsets[w + 1] - a->offsets[w];
    return m;
}

size_t bend_op_attention_workspace(const bend_ops *o, const bend_attention_args *a)
{
    BEND_OPS_DISPATCH_RET(o, bend_cuda_op_attention_workspace(o, a));
    (void)o;
    int64_t rows = QB, cols = max_window(a);
    if (a->block_sparse && a->sparse_block_size > 0) {
        if (a->sparse_block_size > rows) rows = a->sparse_block_size;
        /* a sparse row sees at most 5 blocks (first, three band, last) */
        if (5 * a->sparse_block_size > cols) cols = 5 * a->sparse_block_size;
    }
    return (size_t)(rows * (cols > 0 ? cols : 1)) * sizeof(float);
}

/* e^x for x <= 0 (arguments after the max is subtracted), four lanes at a time with GCC vector
 * extensions (the compiler does not vectorize libm's expf, which also takes a slow errno path on
 * underflow that ALiBi's far keys hit constantly): Cephes' expf polynomial, rounding by the
 * 1.5 * 2^23 trick, 2^n built in the exponent bits. Relative error ~2e-7; arguments below -87
 * give ~2^-126, which is 0 next to the row's maximum term 1. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f vsel(v4i mask, v4f a, v4f b) /* mask ? a : b, lane-wise */
{
    return (v4f)((mask & (v4i)a) | (~mask & (v4i)b));
}

static inline v4f exp4_nonpos(v4f x)
{
    const v4f lo = {-87.0f, -87.0f, -87.0f, -87.0f};
    x = vsel(x < lo, lo, x);
    v4f n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    v4f r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v4f p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    v4i bits = (__builtin_convertvector(n, v4i) + 127) << 23;
    return p * (v4f)bits;
}

static void softmax_rows(int64_t rows, int64_t cols, float *s)
{
    int64_t c4 = cols / 4 * 4;
    for (int64_t i = 0; i < rows; i++) {
        float *r = s + i * cols;
        float mx = r[0];
        if (c4) {
            v4f m4;
            memcpy(&m4, r, sizeof m4);
            for (int64_t j = 4; j < c4; j += 4) {
                v4f v;
                memcpy(&v, r + j, sizeof v);
                m4 = vsel(v > m4, v, m4);
            }
            for (int k = 0; k < 4; k++) mx = m4[k] > mx ? m4[k] : mx;
        }
        for (int64_t j = c4; j < cols; j++) mx = r[j] > mx ? r[j] : mx;
        v4f sum4 = {0, 0, 0, 0};
        for (int64_t j = 0; j < c4; j += 4) {
            v4f v;
            memcpy(&v, r + j, sizeof v);
            v = exp4_nonpos(v - mx);
            sum4 += v;
            memcpy(r + j, &v, sizeof v);
        }
        double sum = (double)sum4[0] + sum4[1] + sum4[2] + sum4[3];
        if (c4 < cols) {
            v4f v = {0, 0, 0, 0};
            for (int64_t j = c4; j < cols; j++) v[j - c4] = r[j] - mx;
            v = exp4_nonpos(v);
            for (int64_t j = c4; j < cols; j++) {
                r[j] = v[j - c4];
                sum += r[j];
            }
        }
        float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < cols; j++) r[j] *= inv;
    }
}

/* Adds ALiBi and the per-key bias to scores s [nq, ncols] whose column c is key kidx(c). */
static void add_terms(const bend_attention_args *a, int64_t h, int64_t start, int64_t q0,
                      int64_t nq, int64_t k0, int64_t nk, float *s, int64_t lds)
{
    if (a->alibi_slopes) {
        float slope = a->alibi_slopes[h];
        for (int64_t i = 0; i < nq; i++)
            for (int64_t j = 0; j < nk; j++) {
                int64_t d = q0 + i - (k0 + j);
                s[i * lds + j] += -slope * (float)(d < 0 ? -d : d);
            }
    }
    if (a->key_bias) {
        const float *kb = a->key_bias + start + k0;
        for (int64_t i = 0; i < nq; i++)
            for (int64_t j = 0; j < nk; j++) s[i * lds + j] += kb[j];
    }
}

/* Query rows q0 .. q0+nq of one window and head against all its L keys. */
static void dense_rows(const bend_ops *o, const bend_attention_args *a, int64_t h, int64_t start,
                       int64_t L, int64_t q0, int64_t nq, float *s)
{
    int64_t hd = a->head_dim, col = h * hd;
    bend_op_gemm(o, false, true, nq, L, hd, a->scale, a->q + (start + q0) * a->ldq + col, a->ldq,
                 a->k + start * a->ldk + col, a->ldk, 0.0f, s, L);
    add_terms(a, h, start, q0, nq, 0, L, s, L);
    softmax_rows(nq, L, s);
    bend_op_gemm(o, false, false, nq, hd, L, 1.0f, s, L, a->v + start * a->ldv + col, a->ldv, 0.0f,
                 a->out + (start + q0) * a->ldo + col, a->ldo);
}

/* BigBird block-sparse (HF BigBirdBlockSparseAttention in eval mode): with n blocks of bs
 * (the window padded with masked keys to n * bs), query blocks 0 and n-1 attend to every key;
 * query block i in 1..n-2 attends to key block 0, the band i-1, i, i+1 and the last block, plus
 * r "random" blocks that eval mode fixes to block 0. Block 0 therefore enters that softmax 1 + r
 * times: once here with an additive ln(1 + r) on its logits, which is the same sum. */
static void sparse_window(const bend_ops *o, const bend_attention_args *a, int64_t h,
                          int64_t start, int64_t L, float *s)
{
    int64_t bs = a->sparse_block_size, hd = a->head_dim, col = h * hd;
    int64_t n = (L + bs - 1) / bs;
    float bonus = (float)log(1.0 + (double)a->sparse_random_blocks);
    for (int64_t qb = 0; qb < n; qb++) {
        int64_t q0 = qb * bs, nq = L - q0 < bs ? L - q0 : bs;
        if (qb == 0 || qb == n - 1 || n < 3) {
            dense_rows(o, a, h, start, L, q0, nq, s);
            continue;
        }
        int64_t blocks[5], nb = 0;
        blocks[nb++] = 0;
        int64_t cand[4] = {qb - 1, qb, qb + 1, n - 1};
        for (int c = 0; c < 4; c++) {
            bool dup = false;
            for (int64_t b = 0; b < nb; b++) dup |= blocks[b] == cand[c];
            if (!dup) blocks[nb++] = cand[c];
        }
        int64_t k0s[5], nks[5], ncols = 0;
        for (int64_t b = 0; b < nb; b++) {
            k0s[b] = blocks[b] * bs;
            nks[b] = L - k0s[b] < bs ? L - k0s[b] : bs;
            ncols += nks[b];
        }
        const float *qp = a->q + (start + q0) * a->ldq + col;
        int64_t c0 = 0;
        for (int64_t b = 0; b < nb; b++) {
            bend_op_gemm(o, false, true, nq, nks[b], hd, a->scale, qp, a->ldq,
                         a->k + (start + k0s[b]) * a->ldk + col, a->ldk, 0.0f, s + c0, ncols);
            add_terms(a, h, start, q0, nq, k0s[b], nks[b], s + c0, ncols);
            if (blocks[b] == 0)
                for (int64_t i = 0; i < nq; i++)
                    for (int64_t j = 0; j < nks[b]; j++) s[i * ncols + c0 + j] += bonus;
            c0 += nks[b];
        }
        softmax_rows(nq, ncols, s);
        float *op = a->out + (start + q0) * a->ldo + col;
        c0 = 0;
        for (int64_t b = 0; b < nb; b++) {
            bend_op_gemm(o, false, false, nq, hd, nks[b], 1.0f, s + c0, ncols,
                         a->v + (start + k0s[b]) * a->ldv + col, a->ldv, b ? 1.0f : 0.0f, op,
                         a->ldo);
            c0 += nks[b];
        }
    }
}

void bend_op_attention(const bend_ops *o, const bend_attention_args *a, void *workspace)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_attention(o, a, workspace));
    float *s = workspace;
    for (int w = 0; w < a->n_windows; w++) {
        int64_t start = a->offsets[w], L = a->offsets[w + 1] - start;
        if (L <= 0) continue;
        bool sparse = a->block_sparse && a->block_sparse[w] && a->sparse_block_size > 0;
        for (int64_t h = 0; h < a->n_heads; h++) {
            if (sparse) {
                sparse_window(o, a, h, start, L, s);
                continue;
            }
            for (int64_t q0 = 0; q0 < L; q0 += QB)
                dense_rows(o, a, h, start, L, q0, L - q0 < QB ? L - q0 : QB, s);
        }
    }
}
