/* decompress.c - joblib's bz2 and lz4 containers (compress=('bz2', N),
 * ('lz4', N)), decoded with libbz2 and liblz4's frame API, and the
 * bounded output buffer every decoder here fills: it never grows past the
 * stream limit, so a small file cannot expand into a large allocation. */
#include <bzlib.h>
#include <errno.h>
#include <lz4frame.h>
#include <stdlib.h>

#include "serialize_internal.h"

int decomp_grow(struct decomp_out *o, size_t max, size_t hint, struct serialize_error *err)
{
        if (o->n < o->cap)
                return 0;
        if (o->cap > max) {
                serr_set(err, -1, "decompressed stream is larger than the limit of %zu bytes",
                         max);
                return -EFBIG;
        }
        size_t ncap = o->cap ? o->cap * 2 : hint;
        if (ncap > max + 1)
                ncap = max + 1;
        uint8_t *nb = realloc(o->buf, ncap);
        if (!nb) {
                serr_set(err, -1, "out of memory decompressing");
                return -ENOMEM;
        }
        o->buf = nb;
        o->cap = ncap;
        return 0;
}

int unbz2_all(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len,
              struct serialize_error *err)
{
        bz_stream bs = { 0 };
        if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) {
                serr_set(err, -1, "cannot start the bz2 decoder");
                return -ENOMEM;
        }
        struct decomp_out o = { 0 };
        size_t in_left = len, used = 0;
        int rc = 0;
        for (;;) {
                if ((rc = decomp_grow(&o, max, len * 4 + 4096, err)) < 0)
                        goto out;
                /* libbz2's counters are 32-bit: feed and drain in steps */
                if (bs.avail_in == 0 && in_left) {
                        bs.next_in = (char *)(uintptr_t)(in + used);
                        bs.avail_in = in_left > (1u << 30) ? (1u << 30) : (unsigned)in_left;
                        in_left -= bs.avail_in;
                        used += bs.avail_in;
                }
                size_t room = o.cap - o.n > (1u << 30) ? (1u << 30) : o.cap - o.n;
                bs.next_out = (char *)(o.buf + o.n);
                bs.avail_out = (unsigned)room;
                int br = BZ2_bzDecompress(&bs);
                o.n += room - bs.avail_out;
                if (br == BZ_STREAM_END)
                        break;
                if (br == BZ_OK && (bs.avail_in || in_left || bs.avail_out == 0))
                        continue;
                rc = -EINVAL;
                serr_set(err, (long long)(used - bs.avail_in),
                         "bz2-compressed data is %s at input byte %zu",
                         br == BZ_OK ? "truncated" : "corrupt", used - bs.avail_in);
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
        BZ2_bzDecompressEnd(&bs);
        free(o.buf);
        return rc;
}

int unlz4_all(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len,
              struct serialize_error *err)
{
        LZ4F_dctx *dctx = NULL;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
                serr_set(err, -1, "cannot start the lz4 decoder");
                return -ENOMEM;
        }
        struct decomp_out o = { 0 };
        size_t used = 0;
        int rc = 0;
        for (;;) {
                if ((rc = decomp_grow(&o, max, len * 4 + 4096, err)) < 0)
                        goto out;
                size_t dst = o.cap - o.n, src = len - used;
                size_t hint = LZ4F_decompress(dctx, o.buf + o.n, &dst, in + used, &src, NULL);
                o.n += dst;
                used += src;
                if (LZ4F_isError(hint)) {
                        rc = -EINVAL;
                        serr_set(err, (long long)used, "lz4-compressed data is corrupt at "
                                 "input byte %zu (%s)", used, LZ4F_getErrorName(hint));
                        goto out;
                }
                if (hint == 0)
                        break; /* the frame is complete */
                if (used == len && dst == 0 && o.n < o.cap) {
                        rc = -EINVAL;
                        serr_set(err, (long long)used,
                                 "lz4-compressed data is truncated at input byte %zu", used);
                        goto out;
                }
        }
        if (o.n > max) {
                rc = -EFBIG;
                serr_set(err, -1, "decompressed stream is larger than the limit of %zu bytes",
                         max);
                goto out;
        }
        if (used != len) {
                rc = -EINVAL;
                serr_set(err, (long long)used, "%zu bytes after the lz4 frame", len - used);
                goto out;
        }
        *out = o.buf;
        *out_len = o.n;
        o.buf = NULL;
out:
        LZ4F_freeDecompressionContext(dctx);
        free(o.buf);
        return rc;
}
