/* slab.c - the tables of a large model in a few large mappings.
 *
 * A forest read from a 100 MB file is about a thousand tables of 50 to
 * 100 KB each. From malloc each one is faulted in 4 KiB at a time, and on
 * this VM the faults (20,000 of them) were most of the load. A slab hands
 * the same tables out of mappings of a few megabytes that ask for
 * transparent huge pages, one fault per 2 MiB where the kernel grants
 * them (THP "madvise" or "always"), and no worse than malloc where it
 * does not ("never").
 *
 * A slab lives as long as the last model object that took memory from
 * it: each takes a reference (model_slab_take) and gives it back in its
 * destroy (model_slab_drop); the tables themselves are never freed one
 * by one. Which slab a construction uses is the calling thread's, set
 * between model_slab_open and model_slab_close by the loader; with none
 * open, model_slab_take returns NULL and model_slab_alloc is malloc. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "model_internal.h"

#define SLAB_HUGE ((size_t)2 << 20)
#define SLAB_ALIGN 64 /* a cache line: a table never shares one with another */

struct slab_chunk {
        struct slab_chunk *next;
        size_t bytes; /* the mapping, this header included */
        size_t used;
};

struct model_slab {
        atomic_size_t refs;
        size_t chunk_bytes;
        struct slab_chunk *chunks; /* the newest first; only it has room */
};

static _Thread_local struct model_slab *current;

static size_t round_up(size_t n, size_t to)
{
        return (n + to - 1) / to * to;
}

struct model_slab *model_slab_open(size_t expect_bytes)
{
        struct model_slab *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        /* about eight chunks for the whole model: little untouched room at
         * the end of the last, few mappings */
        size_t chunk = round_up(expect_bytes / 8, SLAB_HUGE);
        if (chunk < SLAB_HUGE)
                chunk = SLAB_HUGE;
        if (chunk > 16 * SLAB_HUGE)
                chunk = 16 * SLAB_HUGE;
        s->chunk_bytes = chunk;
        atomic_init(&s->refs, 1);
        current = s;
        return s;
}

void model_slab_close(struct model_slab *s)
{
        if (current == s)
                current = NULL;
        model_slab_drop(s);
}

struct model_slab *model_slab_take(void)
{
        if (current)
                atomic_fetch_add_explicit(&current->refs, 1, memory_order_relaxed);
        return current;
}

void model_slab_drop(struct model_slab *s)
{
        if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
                return;
        struct slab_chunk *c = s->chunks;
        while (c) {
                struct slab_chunk *next = c->next;
                munmap(c, c->bytes);
                c = next;
        }
        free(s);
}

static struct slab_chunk *chunk_new(size_t bytes)
{
        /* a mapping aligned to 2 MiB, so that all of it can be huge pages:
         * map 2 MiB more and unmap what lies outside */
        size_t span = bytes + SLAB_HUGE;
        uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        uint8_t *at = (uint8_t *)round_up((uintptr_t)p, SLAB_HUGE);
        if (at > p)
                munmap(p, (size_t)(at - p));
        if (at + bytes < p + span)
                munmap(at + bytes, (size_t)(p + span - (at + bytes)));
        (void)madvise(at, bytes, MADV_HUGEPAGE); /* advice only */
        struct slab_chunk *c = (struct slab_chunk *)at;
        c->bytes = bytes;
        c->used = round_up(sizeof(*c), SLAB_ALIGN);
        return c;
}

void *model_slab_alloc(struct model_slab *s, size_t n)
{
        if (!s)
                return malloc(n ? n : 1);
        if (n > SIZE_MAX / 4)
                return NULL;
        n = round_up(n ? n : 1, SLAB_ALIGN);
        struct slab_chunk *c = s->chunks;
        if (!c || c->bytes - c->used < n) {
                size_t head = round_up(sizeof(*c), SLAB_ALIGN);
                size_t bytes = n + head > s->chunk_bytes ? round_up(n + head, SLAB_HUGE)
                                                         : s->chunk_bytes;
                if (!(c = chunk_new(bytes)))
                        return NULL;
                c->next = s->chunks;
                s->chunks = c;
        }
        void *p = (uint8_t *)c + c->used;
        c->used += n;
        return p;
}

void model_slab_free(struct model_slab *s, void *p)
{
        if (!s)
                free(p);
}
