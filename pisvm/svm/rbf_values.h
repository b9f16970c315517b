/* RBF kernel values exp(-gamma * d) of squared distances d, in one pass (pisvm/svm/_kernel.pyx).
 *
 * The exponential is computed here rather than by the C library's exp, which
 * is scalar (about 9 ns a value on the development machine, the largest part
 * of building a kernel block): x = n ln 2 + r with n = rint(x / ln 2) and
 * |r| <= ln 2 / 2 (ln 2 in two parts, so n ln 2 is exact), exp(r) by its
 * Taylor polynomial of degree 13 (truncation below 1e-17) in Horner's form,
 * times 2^n built in the exponent bits.  It is within 1 ulp of the C library's
 * exp (they differ by 1 ulp in about 9 % of the values) and exp(0) is exactly
 * 1.  The AVX2 loop (four values a step) and its scalar twin give the same
 * bits (avx2.h).  Exponents below log_floor give exact zeros, which keeps n
 * where 2^n is a normal number.
 */
#ifndef PISVM_RBF_VALUES_H
#define PISVM_RBF_VALUES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "avx2.h"

#define PISVM_LOG2E 1.4426950408889634
#define PISVM_LN2_HI 6.93147180369123816490e-01 /* 21 trailing zero bits: n * LN2_HI is exact */
#define PISVM_LN2_LO 1.90821492927058770002e-10

/* 1 / k! for k = 13, 12, ..., 0: Horner's coefficients. */
static const double pisvm_exp_taylor[14] = {
    1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
    1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 1.0 / 2.0, 1.0, 1.0};

/* exp(x) for log_floor <= x <= 0, log_floor >= -700. */
static inline double pisvm_exp_scalar(double x)
{
    double n = rint(x * PISVM_LOG2E);
    double r = (x - n * PISVM_LN2_HI) - n * PISVM_LN2_LO;
    double p = pisvm_exp_taylor[0];
    int64_t bits = ((int64_t)n + 1023) << 52;
    double scale;
    for (int k = 1; k < 14; k++)
        p = p * r + pisvm_exp_taylor[k];
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline void pisvm_rbf_values_scalar(ptrdiff_t start, ptrdiff_t n, const double *squared, double *out,
                                           double gamma, double log_floor)
{
    for (ptrdiff_t k = start; k < n; k++) {
        double x = squared[k] * -gamma;
        out[k] = x < log_floor ? 0.0 : pisvm_exp_scalar(x);
    }
}

#ifdef PISVM_HAVE_AVX2_PATH
__attribute__((target("avx2"))) static void pisvm_rbf_values_avx2(ptrdiff_t n, const double *squared, double *out,
                                                                  double gamma, double log_floor)
{
    const __m256d v_gamma = _mm256_set1_pd(-gamma), v_floor = _mm256_set1_pd(log_floor);
    const __m256d v_log2e = _mm256_set1_pd(PISVM_LOG2E), v_hi = _mm256_set1_pd(PISVM_LN2_HI);
    const __m256d v_lo = _mm256_set1_pd(PISVM_LN2_LO);
    const __m256i v_bias = _mm256_set1_epi64x(1023);
    ptrdiff_t k = 0;
    for (; k + 4 <= n; k += 4) {
        __m256d x = _mm256_mul_pd(_mm256_loadu_pd(squared + k), v_gamma);
        __m256d negligible = _mm256_cmp_pd(x, v_floor, _CMP_LT_OQ);
        __m256d kept = _mm256_max_pd(x, v_floor); /* in range for the exponent bits; replaced by 0 below */
        __m256d m = _mm256_round_pd(_mm256_mul_pd(kept, v_log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256d r = _mm256_sub_pd(_mm256_sub_pd(kept, _mm256_mul_pd(m, v_hi)), _mm256_mul_pd(m, v_lo));
        __m256d p = _mm256_set1_pd(pisvm_exp_taylor[0]);
        __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(m)), v_bias), 52);
        for (int j = 1; j < 14; j++)
            p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(pisvm_exp_taylor[j]));
        p = _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
        _mm256_storeu_pd(out + k, _mm256_andnot_pd(negligible, p));
    }
    pisvm_rbf_values_scalar(k, n, squared, out, gamma, log_floor);
}
#endif

/* out[k] = exp(-gamma * squared[k]), or 0 where -gamma * squared[k] < log_floor;
 * out may be squared. */
static inline void pisvm_rbf_values(ptrdiff_t n, const double *squared, double *out, double gamma, double log_floor)
{
#ifdef PISVM_HAVE_AVX2_PATH
    if (pisvm_use_avx2()) {
        pisvm_rbf_values_avx2(n, squared, out, gamma, log_floor);
        return;
    }
#endif
    pisvm_rbf_values_scalar(0, n, squared, out, gamma, log_floor);
}

#endif
