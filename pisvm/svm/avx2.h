/* Run-time choice between the AVX2 loops of smo_rows.h and rbf_values.h and their scalar twins.
 *
 * Each AVX2 loop is compiled for any x86-64 with GCC or Clang (target
 * attribute) and chosen at run time where the CPU has AVX2.  Its scalar twin
 * gives the same bits (the same operations in the same order, no fused
 * multiply-add), so results never depend on the CPU.
 */
#ifndef PISVM_AVX2_H
#define PISVM_AVX2_H

#include <stdlib.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define PISVM_HAVE_AVX2_PATH 1

/* The AVX2 loops where the CPU has AVX2, unless PISVM_SCALAR_LOOPS is set to
 * anything but "" or "0" (read once per process: for comparing the two paths). */
static inline int pisvm_use_avx2(void)
{
    static int supported = -1; /* a race writes the same value */
    if (supported < 0) {
        const char *scalar = getenv("PISVM_SCALAR_LOOPS");
        __builtin_cpu_init();
        supported = __builtin_cpu_supports("avx2") != 0 && !(scalar != NULL && scalar[0] != '\0'
                                                             && strcmp(scalar, "0") != 0);
    }
    return supported;
}
#endif

/* 1 where the AVX2 loops run, else 0. */
static inline int pisvm_vector_loops(void)
{
#ifdef PISVM_HAVE_AVX2_PATH
    return pisvm_use_avx2();
#else
    return 0;
#endif
}

#endif
