/* unxz.c - joblib's xz and lzma containers (compress=('xz', N) and
 * ('lzma', N)), decoded with liblzma. The output never grows past the
 * stream limit, and the decoder's own memory is capped, so a small file
 * cannot expand into a large allocation (a decompression bomb). */
#include <errno.h>
#include <stdlib.h>

#include <lzma.h>

#include "serialize_internal.h"

/* liblzma's working memory (dictionary) at the most: joblib's presets
 * use at most 64 MiB (xz -9). */
#define UNXZ_MEMLIMIT (256u << 20)

int unxz_all(const uint8_t *in, size_t len, bool alone, size_t max, uint8_t **out,
             size_t *out_len, struct serialize_error *err)
{
        lzma_stream zs = LZMA_STREAM_INIT;
        lzma_ret lr = alone ? lzma_alone_decoder(&zs, UNXZ_MEMLIMIT)
                            : lzma_stream_decoder(&zs, UNXZ_MEMLIMIT, 0);
        if (lr != LZMA_OK) {
                serr_set(err, -1, "cannot start the %s decoder", alone ? "lzma" : "xz");
                return -ENOMEM;
        }
        size_t cap = len * 4 + 4096, n = 0;
        if (cap > max + 1)
                cap = max + 1;
        uint8_t *buf = malloc(cap);
        int rc = 0;
        if (!buf)
                goto nomem;
        zs.next_in = in;
        zs.avail_in = len;
        for (;;) {
                if (n == cap) {
                        if (cap > max)
                                goto too_big;
                        size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        uint8_t *nb = realloc(buf, ncap);
                        if (!nb)
                                goto nomem;
                        buf = nb;
                        cap = ncap;
                }
                zs.next_out = buf + n;
                zs.avail_out = cap - n;
                lr = lzma_code(&zs, LZMA_FINISH);
                n = cap - zs.avail_out;
                if (lr == LZMA_STREAM_END)
                        break;
                if (lr == LZMA_OK || (lr == LZMA_BUF_ERROR && zs.avail_out == 0))
                        continue;
                rc = lr == LZMA_MEMLIMIT_ERROR ? -EFBIG : -EINVAL;
                serr_set(err, (long long)zs.total_in,
                         "%s-compressed data is %s at input byte %llu", alone ? "lzma" : "xz",
                         lr == LZMA_MEMLIMIT_ERROR ? "made for a decoder larger than the "
                                                     "256 MiB limit"
                         : lr == LZMA_BUF_ERROR   ? "truncated"
                                                  : "corrupt",
                         (unsigned long long)zs.total_in);
                goto out;
        }
        if (n > max)
                goto too_big;
        *out = buf;
        *out_len = n;
        buf = NULL;
        goto out;
too_big:
        rc = -EFBIG;
        serr_set(err, -1, "decompressed stream is larger than the limit of %zu bytes", max);
        goto out;
nomem:
        rc = -ENOMEM;
        serr_set(err, -1, "out of memory decompressing");
out:
        lzma_end(&zs);
        free(buf);
        return rc;
}
