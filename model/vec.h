/* vec.h - two-double vectors for the model core's inner loops (GCC's and
 * clang's vector extension: an SSE2 register on x86-64, a NEON one on
 * arm64). Each lane rounds exactly as the scalar expression would, so a
 * loop written with these sums in the same order as its scalar form.
 * Internal to model/. */
#ifndef PREDICTD_VEC_H
#define PREDICTD_VEC_H

#include <stdint.h>
#include <string.h>

typedef double vec2d __attribute__((vector_size(2 * sizeof(double))));
typedef int64_t vec2i __attribute__((vector_size(2 * sizeof(double))));

static inline vec2d vec2d_load(const double *p)
{
        vec2d v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static inline void vec2d_store(double *p, vec2d v)
{
        memcpy(p, &v, sizeof(v));
}

/* Eight doubles from four pairs, in order. */
static inline void vec2d_store4(double *p, vec2d a, vec2d b, vec2d c, vec2d d)
{
        vec2d_store(p, a);
        vec2d_store(p + 2, b);
        vec2d_store(p + 4, c);
        vec2d_store(p + 6, d);
}

static inline vec2d vec2d_splat(double x)
{
        return (vec2d){ x, x };
}

/* fabs of both lanes: the sign bits cleared */
static inline vec2d vec2d_abs(vec2d d)
{
        return (vec2d)((vec2i)d & ((vec2i){ 0 } + INT64_MAX));
}

/* Four-double vectors, for loops that also have an AVX2 form: a function
 * marked VEC_AVX2 is compiled for AVX2 and may be called only when
 * vec_avx2() says the CPU has it; elsewhere a vec4d is two SSE2 (or
 * NEON) registers. Loads and stores through vec4d pointers need only a
 * double's alignment. The lanes round as the scalar expression would
 * either way (-ffp-contract=off: no fused multiply-add), so an AVX2 form
 * gives its twin's results. Keep vec4d values inside one function (or
 * always_inline ones): passed to a call, their ABI differs by target. */
typedef double vec4d __attribute__((vector_size(4 * sizeof(double)), aligned(sizeof(double))));

#if defined(__x86_64__) && defined(__GNUC__)
#define VEC_HAVE_AVX2 1
#define VEC_AVX2 __attribute__((target("avx2")))

static inline int vec_avx2(void)
{
        return __builtin_cpu_supports("avx2");
}
#else
#define VEC_HAVE_AVX2 0
#endif

#endif
