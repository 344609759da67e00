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

#endif
