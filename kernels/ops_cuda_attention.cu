// CUDA backend: fused softmax attention over packed windows, flash-attention style. A block takes
// BQ queries of one window and one head and walks the window's keys BK at a time through shared
// memory with an online softmax (running max and sum, the accumulator rescaled when the max
// grows), so no score matrix exists in memory. fp32 on the CUDA cores: this is the reference
// path, matching the CPU's two-GEMM softmax to rounding (summation order and expf).
//
// Launch shape: the host turns the windows into a list of query tiles (window start, length,
// first query), uploaded into the caller's workspace; grid = tiles x heads. BigBird's
// block-sparse windows use the same kernel with a per-(query block, key block) mask that
// reproduces the CPU's rule (src/ops/cpu/ops_cpu_attention.c), skipping key tiles no query of the
// tile may see.
//
// Threads: 8 per query (BQ * 8 = 256). For scores, thread s of a query takes keys s, s + 8, ...;
// for the output, dimensions s, s + 8, ... (DPT of them, HD <= 8 * DPT).
#include <math.h>
#include <stdlib.h>

#include "ops_cuda_internal.cuh"

enum { BQ = 32, BK = 32, TPQ = 8, THREADS = BQ * TPQ, MAX_HD = 256 };

struct attn_tile {
    int64_t start; // first row of the window
    int32_t len;   // window length
    int32_t q0;    // first query of the tile, relative to the window
    int32_t sparse;
    int32_t pad;
};

static size_t n_tiles(const bend_attention_args *a)
{
    size_t n = 0;
    for (int w = 0; w < a->n_windows; w++) {
        int64_t L = a->offsets[w + 1] - a->offsets[w];
        if (L > 0) n += (size_t)((L + BQ - 1) / BQ);
    }
    return n;
}

extern "C" size_t bend_cuda_op_attention_workspace(const bend_ops *o, const bend_attention_args *a)
{
    (void)o;
    return (n_tiles(a) + 1) * sizeof(attn_tile);
}

// BigBird eval rule for query block qb and key block kb of n blocks: edge query blocks and
// windows of fewer than 3 blocks see every key; middle ones see blocks 0, qb-1..qb+1 and n-1.
__device__ __forceinline__ bool sparse_allowed(int64_t qb, int64_t kb, int64_t n)
{
    return n < 3 || qb == 0 || qb == n - 1 || kb == 0 || kb == n - 1 || (kb - qb <= 1 && qb - kb <= 1);
}

__device__ __forceinline__ bool sparse_tile_needed(int64_t q0, int64_t nq, int64_t k0, int64_t nk,
                                                   int64_t bs, int64_t n)
{
    int64_t qlo = q0 / bs, qhi = (q0 + nq - 1) / bs, klo = k0 / bs, khi = (k0 + nk - 1) / bs;
    if (n < 3 || qlo == 0 || qhi == n - 1 || klo == 0 || khi == n - 1) return true;
    return klo <= qhi + 1 && khi >= qlo - 1;
}

template <int DPT>
__global__ void __launch_bounds__(THREADS)
flash_attention(const attn_tile *tiles, const float *__restrict__ q, const float *__restrict__ k,
                const float *__restrict__ v, float *__restrict__ out, int64_t ldq, int64_t ldk,
                int64_t ldv, int64_t ldo, int hd, float scale, const float *alibi,
                const float *key_bias, int64_t bs, float bonus)
{
    extern __shared__ float smem[];
    const int hs = hd + 1; // padded row stride: no bank conflicts between rows
    float *Qs = smem, *Ks = Qs + BQ * hs, *Vs = Ks + BK * hs, *Ps = Vs + BK * hd;

    const attn_tile tl = tiles[blockIdx.x];
    const int64_t h = blockIdx.y, col = h * hd;
    const int64_t L = tl.len, q0 = tl.q0;
    const int nq = (int)(L - q0 < BQ ? L - q0 : BQ);
    const int tid = threadIdx.x, qi = tid / TPQ, s = tid % TPQ;
    const int64_t i = q0 + qi; // this thread's query, relative to the window
    const bool sparse = tl.sparse != 0;
    const int64_t nblk = sparse ? (L + bs - 1) / bs : 0;
    const float slope = alibi ? alibi[h] : 0.0f;

    for (int e = tid; e < BQ * hd; e += THREADS) {
        int r = e / hd, d = e % hd;
        Qs[r * hs + d] = r < nq ? q[(tl.start + q0 + r) * ldq + col + d] : 0.0f;
    }

    float m_run = -INFINITY, l_run = 0.0f, acc[DPT];
#pragma unroll
    for (int u = 0; u < DPT; u++) acc[u] = 0.0f;

    for (int64_t k0 = 0; k0 < L; k0 += BK) {
        const int nk = (int)(L - k0 < BK ? L - k0 : BK);
        if (sparse && !sparse_tile_needed(q0, nq, k0, nk, bs, nblk)) continue; // block-uniform
        __syncthreads(); // the previous tile's Ks / Vs / Ps are no longer read
        for (int e = tid; e < BK * hd; e += THREADS) {
            int r = e / hd, d = e % hd;
            bool in = r < nk;
            int64_t row = tl.start + k0 + r;
            Ks[r * hs + d] = in ? k[row * ldk + col + d] : 0.0f;
            Vs[r * hd + d] = in ? v[row * ldv + col + d] : 0.0f;
        }
        __syncthreads();

        float sc[BK / TPQ], tmax = -INFINITY;
#pragma unroll
        for (int r = 0; r < BK / TPQ; r++) {
            int j = s + TPQ * r;
            float x = -INFINITY;
            if (j < nk && qi < nq) {
                const float *qr = Qs + qi * hs, *kr = Ks + j * hs;
                float dot = 0.0f;
                for (int d = 0; d < hd; d++) dot = fmaf(qr[d], kr[d], dot);
                x = scale * dot;
                int64_t kj = k0 + j;
                if (alibi) {
                    int64_t dist = i > kj ? i - kj : kj - i;
                    x = __fadd_rn(x, __fmul_rn(-slope, (float)dist));
                }
                if (key_bias) x = __fadd_rn(x, key_bias[tl.start + kj]);
                if (sparse) {
                    int64_t qb = i / bs, kb = kj / bs;
                    if (!sparse_allowed(qb, kb, nblk))
                        x = -INFINITY;
                    else if (kb == 0 && !(nblk < 3 || qb == 0 || qb == nblk - 1))
                        x = __fadd_rn(x, bonus); // block 0 counted 1 + r times (random blocks)
                }
            }
            sc[r] = x;
            tmax = fmaxf(tmax, x);
        }
        // the 8 threads of a query are adjacent lanes of one warp
        for (int off = TPQ / 2; off > 0; off >>= 1)
            tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, off, TPQ));
        float m_new = fmaxf(m_run, tmax);
        float corr = 1.0f, psum = 0.0f;
        if (m_new != -INFINITY) {
            corr = expf(m_run - m_new); // 0 on the first tile (m_run = -inf)
#pragma unroll
            for (int r = 0; r < BK / TPQ; r++) {
                sc[r] = expf(sc[r] - m_new); // masked keys: exp(-inf) = 0
                psum += sc[r];
            }
        } else {
#pragma unroll
            for (int r = 0; r < BK / TPQ; r++) sc[r] = 0.0f;
        }
        for (int off = TPQ / 2; off > 0; off >>= 1)
            psum += __shfl_xor_sync(0xffffffffu, psum, off, TPQ);
        l_run = l_run * corr + psum;
        m_run = m_new;
#pragma unroll
        for (int r = 0; r < BK / TPQ; r++) Ps[qi * (BK + 1) + s + TPQ * r] = sc[r];
        __syncwarp();
        const float *pr = Ps + qi * (BK + 1);
#pragma unroll
        for (int u = 0; u < DPT; u++) {
            int d = s + TPQ * u;
            if (d >= hd) break;
            float a_ = acc[u] * corr;
            for (int j = 0; j < nk; j++) a_ = fmaf(pr[j], Vs[j * hd + d], a_);
            acc[u] = a_;
        }
    }
    if (qi >= nq) return;
    float inv = 1.0f / l_run; // a row whose keys are all -inf gives NaN, as on the CPU
    float *orow = out + (tl.start + i) * ldo + col;
#pragma unroll
    for (int u = 0; u < DPT; u++) {
        int d = s + TPQ * u;
        if (d < hd) orow[d] = acc[u] * inv;
    }
}

template <int DPT>
static void launch(bend_cuda_impl *c, const bend_attention_args *a, const attn_tile *tiles,
                   size_t nt, float bonus)
{
    int hd = (int)a->head_dim;
    size_t smem = (size_t)(BQ * (hd + 1) + BK * (hd + 1) + BK * hd + BQ * (BK + 1)) * sizeof(float);
    if (smem > 48 * 1024)
        bend_cuda_check(c,
                        cudaFuncSetAttribute(flash_attention<DPT>,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                        "attention");
    for (size_t t0 = 0; t0 < nt; t0 += 2147483647u) { // gridDim.x limit
        size_t n = nt - t0 < 2147483647u ? nt - t0 : 2147483647u;
        for (int64_t h0 = 0; h0 < a->n_heads; h0 += 65535) { // gridDim.y limit
            int64_t nh = a->n_heads - h0 < 65535 ? a->n_heads - h0 : 65535;
            dim3 grid((unsigned)n, (unsigned)nh);
            // the head offset goes into the pointers: blockIdx.y counts from 0
            int64_t co = h0 * a->head_dim;
            flash_attention<DPT><<<grid, THREADS, smem, c->stream>>>(
                tiles + t0, a->q + co, a->k + co, a->v + co, a->out + co, a->ldq, a->ldk, a->ldv,
                a->ldo, hd, a->scale, a->alibi_slopes ? a->alibi_slopes + h0 : NULL, a->key_bias,
                a->sparse_block_size, bonus);
            BEND_CUDA_LAUNCHED(c, "attention");
        }
    }
}

extern "C" void bend_cuda_op_attention(const bend_ops *o, const bend_attention_args *a,
                                       void *workspace)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (a->n_windows <= 0 || a->n_heads <= 0 || !bend_cuda_enter(c, "attention")) return;
    if (a->head_dim <= 0 || a->head_dim > MAX_HD) {
        bend_cuda_note(c, "attention", "head_dim must be 1..256 on the GPU");
        return;
    }
    size_t nt = n_tiles(a);
    if (!nt) return;
    size_t bytes = nt * sizeof(attn_tile);
    if (bytes > c->cap_hstage) {
        void *p = realloc(c->h_stage, bytes);
        if (!p) {
            bend_cuda_note(c, "attention", "out of host memory building the tile list");
            return;
        }
        c->h_stage = p;
        c->cap_hstage = bytes;
    }
    attn_tile *ht = (attn_tile *)c->h_stage;
    size_t t = 0;
    for (int w = 0; w < a->n_windows; w++) {
        int64_t L = a->offsets[w + 1] - a->offsets[w];
        bool sparse = a->block_sparse && a->block_sparse[w] && a->sparse_block_size > 0;
        for (int64_t q0 = 0; q0 < L; q0 += BQ)
            ht[t++] = attn_tile{a->offsets[w], (int32_t)L, (int32_t)q0, sparse ? 1 : 0, 0};
    }
    // pageable source: the call returns once the bytes are staged, so h_stage may be reused
    bend_cuda_check(c, cudaMemcpyAsync(workspace, ht, bytes, cudaMemcpyHostToDevice, c->stream),
                    "attention");
    const attn_tile *dt = (const attn_tile *)workspace;
    float bonus = (float)log(1.0 + (double)a->sparse_random_blocks);
    if (a->head_dim <= 64)
        launch<8>(c, a, dt, nt, bonus);
    else if (a->head_dim <= 128)
        launch<16>(c, a, dt, nt, bonus);
    else
        launch<32>(c, a, dt, nt, bonus);
}
