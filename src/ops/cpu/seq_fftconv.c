/* CPU backend: long causal convolution through real FFTs (FFTW single precision).
 * Channels are transformed in blocks of B = 16 with one "many" plan, so the strided gather from
 * the [L, C] rows reads a whole 64-byte cache line per row (fewer channels per block would
 * re-read each line once per block: 8x the memory traffic at L = 1M with 2 channels). A block's
 * leftover channels (C not a multiple of 16) go through single-transform plans instead of
 * transforming zero channels. */
#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_seq.h"

struct bend_fftconv {
    int64_t L, N, nbins, B;
    float *rbuf;          /* [B][N] real signals */
    fftwf_complex *cbuf;  /* [B][nbins] spectra */
    fftwf_plan fwd, inv;   /* B transforms at once */
    fftwf_plan fwd1, inv1; /* one transform, on any channel slot of the buffers */
};

/* FFTW's planner is not thread-safe; execution is. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

/* Smallest n >= m with no prime factor above 7 (FFTW's fast radices). */
static int64_t smooth_size(int64_t m)
{
    for (int64_t n = m > 1 ? m : 1;; n++) {
        int64_t r = n;
        while (r % 2 == 0) r /= 2;
        while (r % 3 == 0) r /= 3;
        while (r % 5 == 0) r /= 5;
        while (r % 7 == 0) r /= 7;
        if (r == 1) return n;
    }
}

bend_status bend_fftconv_create(const bend_ops *o, int64_t L, bend_fftconv **out, bend_error *err)
{
    (void)o;
    *out = NULL;
    if (L < 1 || L > ((int64_t)1 << 29))
        return bend_fail(err, BEND_ERR_INVALID, "FFT convolution length %lld is out of range",
                         (long long)L);
    bend_fftconv *f = calloc(1, sizeof *f);
    if (!f) return bend_fail(err, BEND_ERR_NOMEM, "out of memory for an FFT convolution plan");
    f->L = L;
    f->N = smooth_size(2 * L - 1);
    f->nbins = f->N / 2 + 1;
    f->B = 16;
    f->rbuf = fftwf_malloc((size_t)(f->B * f->N) * sizeof(float));
    f->cbuf = fftwf_malloc((size_t)(f->B * f->nbins) * sizeof(fftwf_complex));
    long long N = (long long)f->N;
    if (!f->rbuf || !f->cbuf) {
        bend_fftconv_destroy(f);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory for FFT buffers of length %lld", N);
    }
    int n = (int)f->N, howmany = (int)f->B, rdist = (int)f->N, cdist = (int)f->nbins;
    pthread_mutex_lock(&planner_lock);
    f->fwd = fftwf_plan_many_dft_r2c(1, &n, howmany, f->rbuf, NULL, 1, rdist, f->cbuf, NULL, 1,
                                     cdist, FFTW_ESTIMATE);
    f->inv = fftwf_plan_many_dft_c2r(1, &n, howmany, f->cbuf, NULL, 1, cdist, f->rbuf, NULL, 1,
                                     rdist, FFTW_ESTIMATE);
    /* slot b of the buffers is only as aligned as b*N floats: plan for unaligned arrays */
    f->fwd1 = fftwf_plan_dft_r2c_1d(n, f->rbuf, f->cbuf, FFTW_ESTIMATE | FFTW_UNALIGNED);
    f->inv1 = fftwf_plan_dft_c2r_1d(n, f->cbuf, f->rbuf, FFTW_ESTIMATE | FFTW_UNALIGNED);
    pthread_mutex_unlock(&planner_lock);
    if (!f->fwd || !f->inv || !f->fwd1 || !f->inv1) {
        bend_fftconv_destroy(f);
        return bend_fail(err, BEND_ERR_INTERNAL, "FFTW could not plan real FFTs of size %lld", N);
    }
    *out = f;
    return BEND_OK;
}

void bend_fftconv_destroy(bend_fftconv *f)
{
    if (!f) return;
    pthread_mutex_lock(&planner_lock);
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    if (f->fwd1) fftwf_destroy_plan(f->fwd1);
    if (f->inv1) fftwf_destroy_plan(f->inv1);
    pthread_mutex_unlock(&planner_lock);
    fftwf_free(f->rbuf);
    fftwf_free(f->cbuf);
    free(f);
}

int64_t bend_fftconv_length(const bend_fftconv *f) { return f->L; }
int64_t bend_fftconv_fft_size(const bend_fftconv *f) { return f->N; }
int64_t bend_fftconv_spectrum_floats(const bend_fftconv *f) { return 2 * f->nbins; }

/* rbuf[b][t] = src[t*ld + c0 + b] for t < L, zero up to N, b < nb. */
static void gather(bend_fftconv *f, int64_t nb, const float *src, int64_t ld, int64_t c0)
{
    for (int64_t t = 0; t < f->L; t++) {
        const float *row = src + t * ld + c0;
        for (int64_t b = 0; b < nb; b++) f->rbuf[b * f->N + t] = row[b];
    }
    for (int64_t b = 0; b < nb; b++)
        memset(f->rbuf + b * f->N + f->L, 0, (size_t)(f->N - f->L) * sizeof(float));
}

/* Forward (inverse == 0) or inverse transforms of the first nb slots. */
static void transform(bend_fftconv *f, int64_t nb, int inverse)
{
    if (nb == f->B) {
        fftwf_execute(inverse ? f->inv : f->fwd);
        return;
    }
    for (int64_t b = 0; b < nb; b++) {
        if (inverse)
            fftwf_execute_dft_c2r(f->inv1, f->cbuf + b * f->nbins, f->rbuf + b * f->N);
        else
            fftwf_execute_dft_r2c(f->fwd1, f->rbuf + b * f->N, f->cbuf + b * f->nbins);
    }
}

void bend_fftconv_filter_spectrum(bend_fftconv *f, int64_t C, const float *k, int64_t ldk,
                                  float *spec)
{
    int64_t sf = 2 * f->nbins;
    float scale = (float)(1.0 / (double)f->N);
    for (int64_t c0 = 0; c0 < C; c0 += f->B) {
        int64_t nb = C - c0 < f->B ? C - c0 : f->B;
        gather(f, nb, k, ldk, c0);
        transform(f, nb, 0);
        for (int64_t b = 0; b < nb; b++) {
            const float *src = (const float *)(f->cbuf + b * f->nbins);
            float *dst = spec + (c0 + b) * sf;
            for (int64_t i = 0; i < sf; i++) dst[i] = src[i] * scale;
        }
    }
}

void bend_fftconv_apply(bend_fftconv *f, int64_t C, const float *spec, const float *dskip,
                        const float *x, int64_t ldx, const float *gate, int64_t ldg, float *y,
                        int64_t ldy)
{
    int64_t sf = 2 * f->nbins;
    for (int64_t c0 = 0; c0 < C; c0 += f->B) {
        int64_t nb = C - c0 < f->B ? C - c0 : f->B;
        gather(f, nb, x, ldx, c0);
        transform(f, nb, 0);
        for (int64_t b = 0; b < nb; b++) {
            float *u = (float *)(f->cbuf + b * f->nbins);
            const float *k = spec + (c0 + b) * sf;
            for (int64_t i = 0; i < f->nbins; i++) {
                float ur = u[2 * i], ui = u[2 * i + 1], kr = k[2 * i], ki = k[2 * i + 1];
                u[2 * i] = ur * kr - ui * ki;
                u[2 * i + 1] = ur * ki + ui * kr;
            }
        }
        transform(f, nb, 1);
        /* y may be x: each element is read (skip term) right before it is overwritten */
        for (int64_t t = 0; t < f->L; t++) {
            const float *xr = x + t * ldx + c0;
            const float *gr = gate ? gate + t * ldg + c0 : NULL;
            float *yr = y + t * ldy + c0;
            for (int64_t b = 0; b < nb; b++) {
                float v = f->rbuf[b * f->N + t];
                if (dskip) v += dskip[c0 + b] * xr[b];
                if (gr) v *= gr[b];
                yr[b] = v;
            }
        }
    }
}
