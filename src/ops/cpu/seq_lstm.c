/* CPU backend: LSTM layer. The input projection of a block of packed rows is one GEMM; the
 * recurrence then adds W_hh h_{t-1} (one GEMV) and applies the gates per step. No allocation:
 * everything lives in the caller's workspace. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops/ops_seq.h"

static int64_t block_rows(int n_windows, const int64_t *offsets)
{
    int64_t rows = offsets[n_windows] - offsets[0];
    return rows < BEND_LSTM_ROW_BLOCK ? rows : BEND_LSTM_ROW_BLOCK;
}

size_t bend_op_lstm_workspace(const bend_ops *o, int n_windows, const int64_t *offsets,
                              int64_t H)
{
    (void)o;
    /* pre-activations of one block, the summed bias, the cell state */
    return (size_t)(block_rows(n_windows, offsets) * 4 * H + 4 * H + H) * sizeof(float);
}

static inline float sigmoidf(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

void bend_op_lstm(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t in,
                  int64_t H, bend_lstm_gates gates, const float *x, int64_t ldx,
                  const float *w_ih, const float *b_ih, const float *w_hh, const float *b_hh,
                  const int32_t *ids, int64_t reset_id, float *y, int64_t ldy, void *workspace)
{
    int64_t G = 4 * H, blk = block_rows(n_windows, offsets);
    if (blk <= 0) return;
    float *pre = workspace, *bias = pre + blk * G, *c = bias + G;
    for (int64_t j = 0; j < G; j++) bias[j] = (b_ih ? b_ih[j] : 0.0f) + (b_hh ? b_hh[j] : 0.0f);
    /* offsets of the i, f, g, o blocks inside a pre-activation row */
    int64_t oi = 0, of = H, og = gates == BEND_LSTM_GATES_IFOG ? 3 * H : 2 * H,
            oo = gates == BEND_LSTM_GATES_IFOG ? 2 * H : 3 * H;
    bool resets = ids && reset_id >= 0;

    int win = 0;
    bool h_zero = true;
    for (int64_t r0 = offsets[0]; r0 < offsets[n_windows]; r0 += blk) {
        int64_t n = offsets[n_windows] - r0 < blk ? offsets[n_windows] - r0 : blk;
        bend_op_linear(o, n, in, G, x + r0 * ldx, ldx, w_ih, bias, 0.0f, pre, G);
        for (int64_t r = r0; r < r0 + n; r++) {
            while (r >= offsets[win + 1]) win++;
            int64_t t = r - offsets[win];
            if (t == 0) {
                memset(c, 0, (size_t)H * sizeof *c);
                h_zero = true;
            } else if (resets && t >= 2 && ids[r - 1] == reset_id) {
                /* BEND zeroes h in place, and that tensor is also the stored output of step
                 * t-1: the reset token's own output row becomes 0 as well */
                memset(c, 0, (size_t)H * sizeof *c);
                memset(y + (r - 1) * ldy, 0, (size_t)H * sizeof *y);
                h_zero = true;
            }
            float *p = pre + (r - r0) * G;
            if (!h_zero)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)G, (blasint)H, 1.0f, w_hh,
                            (blasint)H, y + (r - 1) * ldy, 1, 1.0f, p, 1);
            float *h = y + r * ldy;
            for (int64_t j = 0; j < H; j++) {
                float ig = sigmoidf(p[oi + j]), fg = sigmoidf(p[of + j]);
                float gg = tanhf(p[og + j]), og_ = sigmoidf(p[oo + j]);
                c[j] = fg * c[j] + ig * gg;
                h[j] = og_ * tanhf(c[j]);
            }
            h_zero = false;
        }
    }
}
