/* unxz.c - joblib's xz and lzma containers (compress=('xz', N) and
 * ('lzma', N)), decoded with liblzma into decompress.c's bounded buffer;
 * the decoder's own memory is capped too, so a small file cannot expand
 * into a large allocation (a decompression bomb). */
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
        struct decomp_out o = { 0 };
        int rc = 0;
        zs.next_in = in;
        zs.avail_in = len;
        for (;;) {
                if ((rc = decomp_grow(&o, max, len * 4 + 4096, err)) < 0)
                        goto out;
                zs.next_out = o.buf + o.n;
                zs.avail_out = o.cap - o.n;
                lr = lzma_code(&zs, LZMA_FINISH);
                o.n = o.cap - zs.avail_out;
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
        if (o.n > max) {
                rc = -EFBIG;
                serr_set(err, -1, "decompressed stream is larger than the limit of %zu bytes",
                         max);
                goto out;
        }
        *out = o.buf;
        *out_len = o.n;
        o.buf = NULL;
out:
        lzma_end(&zs);
        free(o.buf);
        return rc;
}
