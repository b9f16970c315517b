/* The SMO's two O(active) loops over contiguous kernel rows (pisvm/svm/_smo.pyx).
 *
 * When the active variables' kernel rows are a compact copy kept in active-set
 * order, an iteration's loops read them at positions 0, 1, ..., active - 1.
 * The loops below are then written for AVX2 (four variables per step, chosen
 * at run time, built for any x86-64 with GCC or Clang) with a scalar twin for
 * other CPUs and the tails.  Both give bit-identical results to the scalar
 * loops of _smo.pyx: the same operations in the same order (no fused
 * multiply-add), and the argmax/argmin ties are broken the same way (the last
 * index wins) because a vector step only finds the lanes that *may* win and
 * the exact scalar test decides them in index order.
 */
#ifndef PISVM_SMO_ROWS_H
#define PISVM_SMO_ROWS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "avx2.h"

#define PISVM_UP 1
#define PISVM_LOW 2

/* LIBSVM's second-order choice of j over variables [0, n), scalar.
 * Ki: kernel row of i; yG: y * gradient; QD: kernel diagonal; flag: UP | LOW.
 * *gmax_low receives max(yG) over the LOW variables; *best and *bound carry the
 * running minimum of -(gmax + yG)^2 / quad and the product test's threshold
 * (see select_j_rows); returns the chosen index or j_in. */
static inline ptrdiff_t pisvm_select_j_scalar(ptrdiff_t start, ptrdiff_t n, const double *Ki, const double *yG,
                                              const double *QD, const uint8_t *flag, double QDi, double gmax,
                                              double tau, double margin, double *gmax_low, double *best,
                                              double *bound, ptrdiff_t j)
{
    for (ptrdiff_t k = start; k < n; k++) {
        int low = (flag[k] & PISVM_LOW) != 0;
        double g = yG[k];
        double g_low = low ? g : -INFINITY;
        double grad_diff, quad, squared_diff, obj_diff;
        *gmax_low = g_low > *gmax_low ? g_low : *gmax_low;
        grad_diff = gmax + g;
        quad = QDi + QD[k] - 2.0 * Ki[k];
        quad = quad > 0 ? quad : tau;
        squared_diff = grad_diff * grad_diff;
        if (low & (grad_diff > 0) & (squared_diff >= *bound * quad)) {
            obj_diff = -squared_diff / quad;
            if (obj_diff <= *best) {
                *best = obj_diff;
                *bound = -obj_diff * margin;
                j = k;
            }
        }
    }
    return j;
}

/* yG[k] += c_i Ri[k] + c_j Rj[k] over [start, n), scalar; returns the last k of
 * largest -yG over the UP variables (or next_i), its value in *best. */
static inline ptrdiff_t pisvm_update_scalar(ptrdiff_t start, ptrdiff_t n, const double *Ri, const double *Rj,
                                            double c_i, double c_j, double *yG, const uint8_t *flag, double *best,
                                            ptrdiff_t next_i)
{
    for (ptrdiff_t k = start; k < n; k++) {
        double g = yG[k] + (c_i * Ri[k] + c_j * Rj[k]);
        yG[k] = g;
        if (((flag[k] & PISVM_UP) != 0) & (-g >= *best)) {
            *best = -g;
            next_i = k;
        }
    }
    return next_i;
}

#ifdef PISVM_HAVE_AVX2_PATH

/* Lanes whose flag has `bit`, as a mask of four doubles. */
__attribute__((target("avx2"))) static inline __m256d pisvm_flag_mask(const uint8_t *flag, int bit)
{
    int32_t four;
    memcpy(&four, flag, 4);
    __m256i wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(four));
    __m256i has = _mm256_and_si256(wide, _mm256_set1_epi64x(bit));
    return _mm256_castsi256_pd(_mm256_cmpeq_epi64(has, _mm256_set1_epi64x(bit)));
}

__attribute__((target("avx2"))) static ptrdiff_t pisvm_select_j_avx2(
    ptrdiff_t n, const double *Ki, const double *yG, const double *QD, const uint8_t *flag, double QDi, double gmax,
    double tau, double margin, double *gmax_low, double *best, double *bound)
{
    const __m256d v_gmax = _mm256_set1_pd(gmax), v_QDi = _mm256_set1_pd(QDi), v_two = _mm256_set1_pd(2.0);
    const __m256d v_tau = _mm256_set1_pd(tau), v_zero = _mm256_setzero_pd(), v_minus_inf = _mm256_set1_pd(-INFINITY);
    __m256d v_low_max = v_minus_inf, v_bound = _mm256_set1_pd(*bound);
    double lanes_max[4];
    ptrdiff_t k, j = -1;
    for (k = 0; k + 4 <= n; k += 4) {
        __m256d low = pisvm_flag_mask(flag + k, PISVM_LOW);
        __m256d g = _mm256_loadu_pd(yG + k);
        __m256d grad_diff = _mm256_add_pd(v_gmax, g);
        __m256d quad = _mm256_sub_pd(_mm256_add_pd(v_QDi, _mm256_loadu_pd(QD + k)),
                                     _mm256_mul_pd(v_two, _mm256_loadu_pd(Ki + k)));
        __m256d squared_diff, may_win;
        int lanes;
        v_low_max = _mm256_max_pd(v_low_max, _mm256_blendv_pd(v_minus_inf, g, low));
        quad = _mm256_blendv_pd(v_tau, quad, _mm256_cmp_pd(quad, v_zero, _CMP_GT_OQ));
        squared_diff = _mm256_mul_pd(grad_diff, grad_diff);
        may_win = _mm256_and_pd(_mm256_and_pd(low, _mm256_cmp_pd(grad_diff, v_zero, _CMP_GT_OQ)),
                                _mm256_cmp_pd(squared_diff, _mm256_mul_pd(v_bound, quad), _CMP_GE_OQ));
        lanes = _mm256_movemask_pd(may_win);
        if (lanes) {
            double counted = -INFINITY; /* these lanes' gmax_low is in v_low_max already */
            j = pisvm_select_j_scalar(k, k + 4, Ki, yG, QD, flag, QDi, gmax, tau, margin, &counted, best, bound, j);
            v_bound = _mm256_set1_pd(*bound);
        }
    }
    _mm256_storeu_pd(lanes_max, v_low_max);
    for (int lane = 0; lane < 4; lane++)
        *gmax_low = lanes_max[lane] > *gmax_low ? lanes_max[lane] : *gmax_low;
    return pisvm_select_j_scalar(k, n, Ki, yG, QD, flag, QDi, gmax, tau, margin, gmax_low, best, bound, j);
}

__attribute__((target("avx2"))) static ptrdiff_t pisvm_update_avx2(
    ptrdiff_t n, const double *Ri, const double *Rj, double c_i, double c_j, double *yG, const uint8_t *flag,
    double *best)
{
    const __m256d v_ci = _mm256_set1_pd(c_i), v_cj = _mm256_set1_pd(c_j), v_zero = _mm256_setzero_pd();
    __m256d v_best = _mm256_set1_pd(*best);
    ptrdiff_t k, next_i = -1;
    for (k = 0; k + 4 <= n; k += 4) {
        __m256d g = _mm256_add_pd(_mm256_loadu_pd(yG + k), _mm256_add_pd(_mm256_mul_pd(v_ci, _mm256_loadu_pd(Ri + k)),
                                                                          _mm256_mul_pd(v_cj, _mm256_loadu_pd(Rj + k))));
        __m256d up = pisvm_flag_mask(flag + k, PISVM_UP);
        _mm256_storeu_pd(yG + k, g);
        if (_mm256_movemask_pd(_mm256_and_pd(up, _mm256_cmp_pd(_mm256_sub_pd(v_zero, g), v_best, _CMP_GE_OQ)))) {
            for (ptrdiff_t lane = k; lane < k + 4; lane++)
                if (((flag[lane] & PISVM_UP) != 0) & (-yG[lane] >= *best)) {
                    *best = -yG[lane];
                    next_i = lane;
                }
            v_best = _mm256_set1_pd(*best);
        }
    }
    return pisvm_update_scalar(k, n, Ri, Rj, c_i, c_j, yG, flag, best, next_i);
}

#endif

/* LIBSVM's choice of j over the contiguous rows of the active set: returns j
 * (or -1 when no variable qualifies), *gmax_low as in pisvm_select_j_scalar.
 * A division is made only for a candidate whose product test
 * squared_diff >= bound * quad admits it; bound trails the best value by
 * `margin` (1 - 1e-9), so the test keeps every candidate the division would
 * pick, and the chosen j is LIBSVM's. */
static inline ptrdiff_t pisvm_select_j_rows(ptrdiff_t n, const double *Ki, const double *yG, const double *QD,
                                            const uint8_t *flag, double QDi, double gmax, double tau, double margin,
                                            double *gmax_low)
{
    double best = INFINITY, bound = -INFINITY;
    *gmax_low = -INFINITY;
#ifdef PISVM_HAVE_AVX2_PATH
    if (pisvm_use_avx2())
        return pisvm_select_j_avx2(n, Ki, yG, QD, flag, QDi, gmax, tau, margin, gmax_low, &best, &bound);
#endif
    return pisvm_select_j_scalar(0, n, Ki, yG, QD, flag, QDi, gmax, tau, margin, gmax_low, &best, &bound, -1);
}

/* The gradient update over the contiguous rows Ri, Rj of the active set, fused
 * with the next choice of i: returns it (or -1), its -yG in *best. */
static inline ptrdiff_t pisvm_update_rows(ptrdiff_t n, const double *Ri, const double *Rj, double c_i, double c_j,
                                          double *yG, const uint8_t *flag, double *best)
{
    *best = -INFINITY;
#ifdef PISVM_HAVE_AVX2_PATH
    if (pisvm_use_avx2())
        return pisvm_update_avx2(n, Ri, Rj, c_i, c_j, yG, flag, best);
#endif
    return pisvm_update_scalar(0, n, Ri, Rj, c_i, c_j, yG, flag, best, -1);
}

#endif
