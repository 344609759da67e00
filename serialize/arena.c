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

void *arena_alloc(struct arena *a, size_t n)
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
                b = malloc(sizeof(*b) + size);
                if (!b)
                        return NULL;
                b->size = size;
                b->used = 0;
                b->next = a->head;
                a->head = b;
                a->used += size + sizeof(*b);
        }
        void *p = b->data + b->used;
        b->used += n;
        memset(p, 0, n);
        return p;
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
