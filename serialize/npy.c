/* npy.c - a bounded reader for .npy files holding a 2-D float64 matrix.
 *
 * `predictd bench` times the model core on the user's own rows, which
 * numpy writes with np.save. Only what that needs is read: magic, version
 * 1-3, the header dict with 'descr' '<f8' (or '|f8'/'=f8'), 'fortran_order'
 * and a 2-tuple 'shape'; the data size must match the shape exactly.
 * Fortran-order data is turned into C order. Nothing else is accepted. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serialize.h"

#define NPY_MAX_HEADER 4096

static int efail(struct serialize_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int efail(struct serialize_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->offset = -1;
        return code;
}

/* The text after 'key': in the header dict, skipping spaces, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
        char pat[32];
        snprintf(pat, sizeof(pat), "'%s'", key);
        const char *p = strstr(h, pat);
        if (!p)
                return NULL;
        p += strlen(pat);
        while (*p == ' ')
                p++;
        if (*p != ':')
                return NULL;
        p++;
        while (*p == ' ')
                p++;
        return p;
}

static bool parse_dim(const char **pp, size_t *out)
{
        const char *p = *pp;
        size_t v = 0;
        if (*p < '0' || *p > '9')
                return false;
        while (*p >= '0' && *p <= '9') {
                if (v > (SIZE_MAX - 9) / 10)
                        return false;
                v = v * 10 + (size_t)(*p - '0');
                p++;
        }
        while (*p == ' ')
                p++;
        *pp = p;
        *out = v;
        return true;
}

int serialize_npy_read_f64(const char *path, size_t max_bytes, double **out,
                           size_t *rows_out, size_t *cols_out,
                           struct serialize_error *err)
{
        double *data = NULL, *c = NULL;
        FILE *f = fopen(path, "rb");
        if (!f)
                return efail(err, -errno, "%s: cannot open: %s", path, strerror(errno));
        int rc = -EINVAL;
        unsigned char pre[12];
        if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
                rc = efail(err, -EINVAL, "%s: expected a .npy file (\\x93NUMPY magic), found "
                           "other bytes", path);
                goto fail;
        }
        size_t hlen;
        if (pre[6] == 1) {
                hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        } else if (pre[6] == 2 || pre[6] == 3) {
                if (fread(pre + 10, 1, 2, f) != 2)
                        goto short_file;
                hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                       (size_t)pre[11] << 24;
        } else {
                rc = efail(err, -EINVAL, "%s: expected .npy format version 1, 2 or 3, found %u",
                           path, pre[6]);
                goto fail;
        }
        if (hlen > NPY_MAX_HEADER) {
                rc = efail(err, -EFBIG, "%s: .npy header of %zu bytes, at most %d accepted",
                           path, hlen, NPY_MAX_HEADER);
                goto fail;
        }
        char h[NPY_MAX_HEADER + 1];
        if (fread(h, 1, hlen, f) != hlen)
                goto short_file;
        h[hlen] = '\0';
        const char *d = dict_value(h, "descr");
        if (!d || !(strncmp(d, "'<f8'", 5) == 0 || strncmp(d, "'=f8'", 5) == 0)) {
                const char *e = d ? strchr(d + 1, '\'') : NULL;
                int n = d && e ? (int)(e - d + 1) : 9;
                rc = efail(err, -EINVAL, "%s: expected dtype '<f8' (float64), found %.*s", path,
                           n > 32 ? 32 : n, d ? d : "no descr");
                goto fail;
        }
        const char *fo = dict_value(h, "fortran_order");
        bool fortran;
        if (fo && strncmp(fo, "False", 5) == 0)
                fortran = false;
        else if (fo && strncmp(fo, "True", 4) == 0)
                fortran = true;
        else {
                rc = efail(err, -EINVAL, "%s: expected 'fortran_order': True or False in the "
                           "header", path);
                goto fail;
        }
        const char *s = dict_value(h, "shape");
        size_t rows, cols;
        if (!s || *s != '(') {
                rc = efail(err, -EINVAL, "%s: expected a 'shape' tuple in the header", path);
                goto fail;
        }
        s++;
        if (!parse_dim(&s, &rows) || *s != ',') {
                rc = efail(err, -EINVAL, "%s: expected a 2-D shape (rows, features), found %.40s",
                           path, dict_value(h, "shape"));
                goto fail;
        }
        s++;
        while (*s == ' ')
                s++;
        if (!parse_dim(&s, &cols) || !(*s == ')' || (s[0] == ',' && s[1] == ')'))) {
                rc = efail(err, -EINVAL, "%s: expected a 2-D shape (rows, features), found %.40s",
                           path, dict_value(h, "shape"));
                goto fail;
        }
        if (rows == 0 || cols == 0) {
                rc = efail(err, -EINVAL, "%s: expected at least one row and one column, found "
                           "shape (%zu, %zu)", path, rows, cols);
                goto fail;
        }
        if (rows > max_bytes / sizeof(double) / cols) {
                rc = efail(err, -EFBIG, "%s: shape (%zu, %zu) is over the limit of %zu bytes",
                           path, rows, cols, max_bytes);
                goto fail;
        }
        size_t n = rows * cols;
        data = malloc(n * sizeof(double));
        if (!data) {
                rc = efail(err, -ENOMEM, "%s: out of memory for %zu values", path, n);
                goto fail;
        }
        if (fread(data, sizeof(double), n, f) != n)
                goto short_file;
        if (fgetc(f) != EOF) {
                rc = efail(err, -EINVAL, "%s: expected %zu data bytes for shape (%zu, %zu), "
                           "found more", path, n * sizeof(double), rows, cols);
                goto fail;
        }
        if (fortran) {
                c = malloc(n * sizeof(double));
                if (!c) {
                        rc = efail(err, -ENOMEM, "%s: out of memory for %zu values", path, n);
                        goto fail;
                }
                for (size_t i = 0; i < rows; i++)
                        for (size_t j = 0; j < cols; j++)
                                c[i * cols + j] = data[j * rows + i];
                free(data);
                data = c;
        }
        fclose(f);
        *out = data;
        *rows_out = rows;
        *cols_out = cols;
        return 0;
short_file:
        rc = efail(err, -EINVAL, "%s: the file ends before the header and data it declares",
                   path);
fail:
        free(data);
        fclose(f);
        return rc;
}
