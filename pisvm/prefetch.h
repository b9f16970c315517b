/* The one prefetch macro of the suite's Cython kernels (pisvm/svm/_smo.pyx,
 * features/_max_tree.pyx, features/_tree_of_shapes.pyx, through
 * pisvm/_prefetch.pxd): start loading the cache line of ``address``, with the
 * GCC/Clang builtin, a no-op elsewhere.  A prefetch never faults, so an
 * address just past an array is harmless. */
#ifndef PISVM_PREFETCH_H
#define PISVM_PREFETCH_H

#if defined(__GNUC__) || defined(__clang__)
#define PISVM_PREFETCH(address) __builtin_prefetch(address)
#else
#define PISVM_PREFETCH(address) ((void)0)
#endif

#endif
