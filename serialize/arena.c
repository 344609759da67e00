/* arena.c - one allocator for everything a load builds, so that the whole
 * graph is freed at once and its total size has a hard limit: a hostile
 * file cannot make the reader allocate more than max_alloc_bytes. */
#include <stdlib.h>
#include <string.h>

#include "serialize_internal.h"

#define ARENA_BLOCK (64 * 1024)

struct arena_block {
        struct arena_block *next;
        size_t size, used;
        _Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t limit)
{
        a->head = NULL;
        a->used = 0;
        a->limit = limit;
}

/* A request of more than this gets a block of its own, linked behind the
 * head so that the head's free room still serves the small ones: a
 * protocol 2 file alternates megabyte strings (its arrays) with small
 * objects, and each big block at the head wasted the rest of a block. */
#define ARENA_BIG (ARENA_BLOCK / 4)

static void *take(struct arena *a, size_t n)
{
        if (n > a->limit)
                return NULL;
        n = (n + 15) & ~(size_t)15;
        if (n == 0)
                n = 16;
        struct arena_block *b = a->head;
        if (!b || b->size - b->used < n) {
                size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
                if (size > a->limit || a->used > a->limit - size)
                        return NULL;
                struct arena_block *nb = malloc(sizeof(*nb) + size);
                if (!nb)
                        return NULL;
                nb->size = size;
                nb->used = 0;
                a->used += size + sizeof(*nb);
                if (n > ARENA_BIG && b) {
                        nb->next = b->next;
                        b->next = nb;
                } else {
                        nb->next = b;
                        a->head = nb;
                }
                b = nb;
        }
        void *p = b->data + b->used;
        b->used += n;
        return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
        void *p = take(a, n);
        if (p)
                memset(p, 0, n);
        return p;
}

void *arena_alloc_raw(struct arena *a, size_t n)
{
        return take(a, n);
}

void arena_release(struct arena *a)
{
        struct arena_block *b = a->head;
        while (b) {
                struct arena_block *next = b->next;
                free(b);
                b = next;
        }
        a->head = NULL;
        a->used = 0;
}
