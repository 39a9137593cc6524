/* Sequence ops of the non-transformer LMs (HyenaDNA, AWD-LSTM, the dilated ConvNets), with the
 * conventions of ops.h: backend handle first, row-major [rows, channels] activations with all
 * windows packed row after row (window w = rows offsets[w] .. offsets[w+1], offsets in host
 * memory), no allocation and no failure in the hot calls. Every op treats each window as its own
 * sequence: nothing flows across a window boundary. The CPU backend implements them in
 * src/ops/cpu/seq_*.c. */
#ifndef BEND_OPS_OPS_SEQ_H
#define BEND_OPS_OPS_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "ops/ops.h"

/* ---- causal depthwise convolution (Hyena's short filter) ----
 * y[t,c] = bias[c] + sum_{j<K} w[c*K + j] * x[t - (K-1) + j, c], x = 0 before the window's first
 * row: torch's Conv1d(C, C, K, groups=C, padding=K-1) keeping the first outputs. w is the
 * checkpoint's [C, 1, K]; bias [C] or NULL. x [rows, C] with ldx, y with ldy; y may be x (same
 * ld: in place). */
void bend_op_causal_dwconv(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t C,
                           int64_t K, const float *w, const float *bias, const float *x,
                           int64_t ldx, float *y, int64_t ldy);

/* ---- long causal convolution through the FFT (Hyena's implicit filter) ----
 * For signals of one length L: y[t,c] = sum_{j<=t} k[j,c] x[t-j,c] + dskip[c] x[t,c], t < L,
 * computed with real FFTs of a size N >= 2L-1 whose factors are 2, 3, 5, 7 (linear, not
 * circular, convolution: the same result as BEND's size-2L FFTs up to float round-off).
 * A bend_fftconv holds the FFTW plans and scratch for one L; the calls that use it are not
 * reentrant (one per thread). Creating plans is the only step that allocates or can fail. */
typedef struct bend_fftconv bend_fftconv;

bend_status bend_fftconv_create(const bend_ops *o, int64_t L, bend_fftconv **out,
                                bend_error *err);
void bend_fftconv_destroy(bend_fftconv *f);
int64_t bend_fftconv_length(const bend_fftconv *f);      /* L */
int64_t bend_fftconv_fft_size(const bend_fftconv *f);    /* N */
/* Floats per channel of a filter spectrum (2 * (N/2 + 1): interleaved complex bins). */
int64_t bend_fftconv_spectrum_floats(const bend_fftconv *f);

/* spec [C][spectrum_floats] = FFT of the filters k[t, c] (t < L, row stride ldk), already scaled
 * by 1/N so that apply needs no further scaling. Computed once per filter and length. */
void bend_fftconv_filter_spectrum(bend_fftconv *f, int64_t C, const float *k, int64_t ldk,
                                  float *spec);

/* The convolution above for one window of L rows: x [L, C] with ldx, y with ldy (y may be x);
 * dskip [C] or NULL (no skip term); gate [L, C] with ldg or NULL: y = (conv + skip) * gate. */
void bend_fftconv_apply(bend_fftconv *f, int64_t C, const float *spec, const float *dskip,
                        const float *x, int64_t ldx, const float *gate, int64_t ldg, float *y,
                        int64_t ldy);

/* ---- dilated 1-D convolution, channels last ----
 * y[t,o] = bias[o] + sum_{j<K} sum_{c<Cin} w[o,c,j] * x[t - pad_left + j*dilation, c], x = 0
 * outside the window (torch Conv1d; padding "same" is pad_left = dilation*(K-1)/2 rounded down).
 * The weight is used packed tap-major: wp [K][Cout][Cin], which bend_conv1d_pack_weight makes
 * from torch's [Cout][Cin][K] (host memory, once at load). Computed as K shifted GEMMs
 * accumulating into y (no im2col copy). x [rows, Cin] and y [rows, Cout] contiguous, distinct. */
void bend_conv1d_pack_weight(int64_t Cout, int64_t Cin, int64_t K, const float *w, float *wp);
void bend_op_dilated_conv1d(const bend_ops *o, int n_windows, const int64_t *offsets,
                            int64_t Cin, int64_t Cout, int64_t K, int64_t dilation,
                            int64_t pad_left, const float *wp, const float *bias, const float *x,
                            float *y);

/* ---- LSTM layer (unidirectional, zero initial state per window) ----
 * pre_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh ([4H]), split into four gates in `gates` order;
 * i, f, o = sigmoid, g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t); y[t] = h_t.
 * The input projection runs as one GEMM per block of up to BEND_LSTM_ROW_BLOCK packed rows (all
 * timesteps at once); only W_hh h_{t-1} is per step.
 * Reset (AWD-LSTM's reset_token_id, reset_id >= 0): before step t >= 2 of a window (BEND's
 * off-by-one: never t = 1), h and c are zeroed when ids[t-1] == reset_id, and so is the output
 * row y[t-1] (BEND zeroes h in place, which is the tensor it stored as step t-1's output; the
 * window's last row is never zeroed); ids [rows] host memory, NULL or reset_id < 0 for none.
 * w_ih [4H, in], w_hh [4H, H], biases [4H] or NULL; x [rows, in] with ldx; y [rows, H] with ldy,
 * not overlapping x. workspace: bend_op_lstm_workspace bytes. */
typedef enum bend_lstm_gates {
    BEND_LSTM_GATES_IFGO = 0, /* torch.nn.LSTM */
    BEND_LSTM_GATES_IFOG,     /* BEND's AWD-LSTM cell */
} bend_lstm_gates;

enum { BEND_LSTM_ROW_BLOCK = 16384 };

size_t bend_op_lstm_workspace(const bend_ops *o, int n_windows, const int64_t *offsets,
                              int64_t H);
void bend_op_lstm(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t in,
                  int64_t H, bend_lstm_gates gates, const float *x, int64_t ldx,
                  const float *w_ih, const float *b_ih, const float *w_hh, const float *b_hh,
                  const int32_t *ids, int64_t reset_id, float *y, int64_t ldy, void *workspace);

/* ---- selective scan (Mamba's SSM: mamba_ssm selective_scan_ref with real A, B and C per row) ----
 * Per window, state s[e,n] = 0 before its first row; then for each row t:
 *   s[e,n] = exp(delta[t,e] * A[e,n]) * s[e,n] + delta[t,e] * B[t,n] * u[t,e]
 *   y[t,e] = (sum_n s[e,n] * C[t,n] + Dskip[e] * u[t,e]) * (z ? silu(z[t,e]) : 1)
 * delta is final (dt bias added and softplus applied by the caller); A [E, N] is -exp(A_log);
 * Dskip [E] or NULL. u, delta, z [rows, E] with ldu, ldd, ldz; B, C [rows, N] with ldb, ldc;
 * y [rows, E] with ldy, which may be u or delta with the same ld (a row is read before it is
 * written). workspace: bend_op_selective_scan_workspace bytes (the state). Float32 throughout,
 * as the CUDA kernel. */
size_t bend_op_selective_scan_workspace(const bend_ops *o, int64_t E, int64_t N);
void bend_op_selective_scan(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t E,
                            int64_t N, const float *u, int64_t ldu, const float *delta,
                            int64_t ldd, const float *A, const float *B, int64_t ldb,
                            const float *C, int64_t ldc, const float *Dskip, const float *z,
                            int64_t ldz, float *y, int64_t ldy, void *workspace);

#endif
