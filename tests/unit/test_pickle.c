/* test_pickle.c - the restricted pickle reader refuses what it must, with
 * the reason, and survives every truncation and byte flip of real files
 * (run under valgrind by `meson test --setup valgrind`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "serialize.h"
#include "tap.h"

#ifndef FIXTURES
#error "FIXTURES must name tests/fixtures/unit"
#endif

static int load(const char *bytes, size_t n, const struct serialize_limits *lim,
                struct serialize_error *err)
{
        struct model *m = NULL;
        struct serialize_info *info = NULL;
        int rc = serialize_load_buffer((const uint8_t *)bytes, n, lim, &m, &info, err);
        model_free(m);
        serialize_info_free(info);
        return rc;
}

#define LOAD(lit, err) load(lit, sizeof(lit) - 1, NULL, err)

static bool pickle_global_os_system_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("cos\nsystem\n(S'touch /tmp/x'\ntR.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "os.system");
        EXPECT_CONTAINS(e.message, "byte offset 0");
        EXPECT(e.offset == 0);
        return true;
}

static bool pickle_stack_global_dotted_name_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x04\x8c\x08" "builtins" "\x8c\x10" "getattr.__self__" "\x93.",
                    &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "builtins.getattr.__self__");
        return true;
}

static bool pickle_inst_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("(S'id'\nios\nsystem\n.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "os.system");
        return true;
}

static bool pickle_unsupported_sklearn_class_named(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" "csklearn.decomposition._nmf\nNMF\n)\x81.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "sklearn.decomposition._nmf.NMF");
        EXPECT_CONTAINS(e.message, "not supported");
        /* a class with no predict for new rows says so */
        EXPECT(LOAD("\x80\x02" "csklearn.cluster._dbscan\nDBSCAN\n)\x81.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "sklearn.cluster._dbscan.DBSCAN");
        EXPECT_CONTAINS(e.message, "has no predict or transform");
        return true;
}

static bool pickle_newobj_of_function_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" "cnumpy\ndtype\n)\x81.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "NEWOBJ needs an allowed class");
        return true;
}

static bool pickle_build_on_list_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02]}b.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "BUILD on a list");
        return true;
}

static bool pickle_ext_persid_buffer_opcodes_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02\x82\x01.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "EXT1");
        EXPECT(LOAD("Pfoo\n.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "PERSID");
        EXPECT(LOAD("\x80\x05\x97.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "NEXT_BUFFER");
        return true;
}

static bool pickle_lying_string_length_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x04X\xff\xff\xff\x7f" "abc.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "remain");
        EXPECT(LOAD("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff" "abc.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "remain");
        return true;
}

static bool pickle_lying_frame_length_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x01\x00N.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "frame");
        /* an opcode straddling the end of a frame */
        EXPECT(LOAD("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00" "J\x01\x00\x00\x00.", &e) ==
               -EINVAL);
        EXPECT_CONTAINS(e.message, "frame");
        return true;
}

static bool pickle_stack_and_memo_misuse_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02h\x05.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "memo entry 5");
        EXPECT(LOAD("\x80\x02R.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "stack");
        EXPECT(LOAD("\x80\x02t.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "MARK");
        /* items below a MARK are out of reach, as in Python */
        EXPECT(LOAD("\x80\x02N(\x85.", &e) == -EINVAL);
        return true;
}

static bool pickle_truncated_or_unknown_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02N", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "STOP");
        EXPECT(LOAD("\x80\x02\xff", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "unknown opcode 0xff");
        EXPECT(LOAD("\x80\x06N.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "protocol 6");
        EXPECT(load("", 0, NULL, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "empty");
        return true;
}

/* functools.partial and check_array at protocol 2 (GLOBAL), and the
 * partial scikit-learn pickles: REDUCE over (check_array,), then BUILD
 * with (check_array, (), {dtype: [numpy.float64], KEY: False}, None).
 * Literals are split where a hex escape would run into the next letter. */
#define PARTIAL_G "cfunctools\npartial\n"
#define CHECK_ARRAY_G "csklearn.utils.validation\ncheck_array\n"
#define SK_PARTIAL_KEY(key) \
        PARTIAL_G CHECK_ARRAY_G "\x85R(" CHECK_ARRAY_G ")}(X\x05\x00\x00\x00" "dtype" \
        "]cnumpy\nfloat64\na" key "\x89uNtb"
#define SK_PARTIAL SK_PARTIAL_KEY("X\x10\x00\x00\x00" "force_all_finite")

static bool pickle_partial_bare_refused_where_named(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" PARTIAL_G ".", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "byte offset 2: refused global functools.partial");
        EXPECT_CONTAINS(e.message, "other than to wrap");
        EXPECT(e.offset == 2);
        return true;
}

static bool pickle_partial_over_another_function_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" PARTIAL_G "cnumpy\nfloat64\n\x85R.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "refused global functools.partial");
        EXPECT_CONTAINS(e.message, "it wraps numpy.float64");
        EXPECT(LOAD("\x80\x02" PARTIAL_G CHECK_ARRAY_G CHECK_ARRAY_G "\x86R.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "called with 2 arguments");
        /* a disallowed function inside: the partial is named first */
        EXPECT(LOAD("\x80\x02" PARTIAL_G "cos\nsystem\n\x85R.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "byte offset 2: refused global functools.partial");
        EXPECT_CONTAINS(e.message, "os.system");
        EXPECT(e.offset == 2);
        return true;
}

static bool pickle_partial_only_reduced(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" PARTIAL_G ")\x81.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "functools.partial");
        EXPECT(LOAD("\x80\x02" CHECK_ARRAY_G ")R.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "check_array may not be called");
        return true;
}

static bool pickle_partial_state_is_scikit_learns(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" SK_PARTIAL_KEY("X\x04\x00\x00\x00" "copy") ".", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "binds a keyword copy");
        EXPECT(e.offset == 2);
        /* the 1.6+ spelling is scikit-learn's too: refused only as no model */
        EXPECT(LOAD("\x80\x02" SK_PARTIAL_KEY("X\x11\x00\x00\x00" "ensure_all_finite") ".",
                    &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "found functools.partial");
        return true;
}

static bool pickle_partial_used_once(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02" SK_PARTIAL "q\x00h\x00\x86.", &e) == -EPERM);
        EXPECT_CONTAINS(e.message, "referenced a second time");
        EXPECT(LOAD("\x80\x02" SK_PARTIAL "2\x86.", &e) == -EPERM); /* DUP */
        EXPECT_CONTAINS(e.message, "referenced a second time");
        return true;
}

static bool pickle_partial_outside_its_place_refused(void)
{
        struct serialize_error e;
        /* {'model': <a model>, 'check': partial}: the model loads, the
         * partial is in no place a builder knows */
        static const char head[] = "\x80\x02}(X\x05\x00\x00\x00" "model";
        static const char tail[] = "X\x05\x00\x00\x00" "check" SK_PARTIAL "u.";
        FILE *f = fopen(FIXTURES "/iris_logreg_p2.pkl", "rb");
        EXPECT(f);
        char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        /* the fixture's pickle without PROTO and STOP: its body */
        EXPECT(n > 3 && n < sizeof(buf) && buf[0] == '\x80' && buf[n - 1] == '.');
        char *s = malloc(sizeof(head) + n + sizeof(tail));
        EXPECT(s);
        size_t len = 0;
        memcpy(s, head, sizeof(head) - 1);
        len += sizeof(head) - 1;
        memcpy(s + len, buf + 2, n - 3);
        len += n - 3;
        memcpy(s + len, tail, sizeof(tail) - 1);
        len += sizeof(tail) - 1;
        int rc = load(s, len, NULL, &e);
        free(s);
        EXPECT(rc == -EPERM);
        EXPECT_CONTAINS(e.message, "refused global functools.partial");
        EXPECT_CONTAINS(e.message, "is not there");
        return true;
}

static bool pickle_plain_data_is_not_a_model(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02]q\x00(K\x01K\x02e.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "no model");
        EXPECT(LOAD("\x80\x02}q\x00X\x01\x00\x00\x00" "aK\x01s.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "'model'");
        return true;
}

/* A str is decoded as UTF-8, as Python decodes it: ASCII runs (eight bytes
 * at a time), two-byte sequences (protocol 2's latin-1 array bytes), the
 * longer ones, and every malformed form refused, also at the end of a
 * long run. */
static bool pickle_strings_utf8(void)
{
        static const char *const valid[] = {
                "abc", "\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                "abcdefghijklmnopq\xc3\xa9", ("a\xc3\xa9" "bcdefghijklmnop\xc2\x80xyz"),
                "\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf",
                /* a sequence across the 16-byte blocks; a longer one in a
                 * long string */
                "abcdefghijklmno\xc3\xa9", "abcdefghijklmnopq\xf0\x9f\x98\x80xyz",
                "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x82\xac",
        };
        static const char *const invalid[] = {
                "\xc0\x80", "\xc1\xbf", "\x80", "abc\xc3", "\xc3(", "\xe0\x80\x80",
                "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "abcdefgh\xc3",
                "abcdefghijklmnop\xff", "abcdefghijklmnop\xbf", "\xc3\xa9\xa9",
                "abcdefghijklmno\xc3(",
                ("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "a\xa9"),
                ("abc\xc1\xbf" "defghijklmnopqrstu"), "abcdefghijklmnopqrstuvwxyz012345\xc3",
        };
        const size_t n_valid = sizeof(valid) / sizeof(valid[0]);
        const size_t n_invalid = sizeof(invalid) / sizeof(invalid[0]);
        for (size_t k = 0; k < n_valid + n_invalid; k++) {
                bool ok = k < n_valid;
                const char *str = ok ? valid[k] : invalid[k - n_valid];
                char buf[64];
                size_t n = strlen(str);
                /* PROTO 4, SHORT_BINUNICODE n str, STOP */
                memcpy(buf, "\x80\x04\x8c", 3);
                buf[3] = (char)n;
                memcpy(buf + 4, str, n);
                buf[4 + n] = '.';
                struct serialize_error e;
                EXPECT(load(buf, n + 5, NULL, &e) < 0);
                if (!strstr(e.message, ok ? "holds no model" : "not valid UTF-8")) {
                        fprintf(stderr, "# string %zu (%s): %s\n", k, ok ? "valid" : "invalid",
                                e.message);
                        return false;
                }
        }
        return true;
}

static bool pickle_trailing_bytes_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("\x80\x02]q\x00.cos\nsystem\n.", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "trailing");
        return true;
}

static bool pickle_limits_enforced(void)
{
        struct serialize_limits lim;
        struct serialize_error e;
        serialize_limits_default(&lim);
        lim.max_stack = 1000;
        static char marks[3003];
        memcpy(marks, "\x80\x02", 2);
        memset(marks + 2, '(', 3000);
        marks[3002] = '.';
        EXPECT(load(marks, sizeof(marks), &lim, &e) == -EFBIG);
        EXPECT_CONTAINS(e.message, "limit");

        serialize_limits_default(&lim);
        lim.max_alloc_bytes = 1 << 20;
        size_t n = 2 + 1 + 2 * 200000 + 1;
        char *big = malloc(n);
        EXPECT(big);
        memcpy(big, "\x80\x02]", 3);
        for (size_t i = 0; i < 200000; i++)
                memcpy(big + 3 + 2 * i, "Na", 2);
        big[n - 1] = '.';
        int rc = load(big, n, &lim, &e);
        free(big);
        EXPECT(rc == -EFBIG);
        EXPECT_CONTAINS(e.message, "limit");

        EXPECT(LOAD("\x80\x02Nr\xff\xff\xff\x7f.", &e) == -EFBIG);
        EXPECT_CONTAINS(e.message, "memo index");
        return true;
}

static bool container_other_compressions_refused(void)
{
        struct serialize_error e;
        EXPECT(LOAD("BZh91AY&SY", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "bz2");
        EXPECT(LOAD("\x1f\x8b\x08\x00garbage-not-deflate", &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "corrupt");
        return true;
}

static uint8_t *read_fixture(const char *name, size_t *len)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *d = malloc((size_t)n);
        if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
                free(d);
                d = NULL;
        }
        fclose(f);
        *len = (size_t)n;
        return d;
}

static const char *const fixtures[] = {
        "iris_logreg_p0.pkl",   "iris_logreg_p2.pkl",   "iris_pipeline_p4.pkl",
        "iris_tree_str_p5.pkl", "iris_rf_small.joblib", "iris_rf_small.joblib.gz",
};

static bool fixtures_load_with_structure(void)
{
        for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
                size_t len;
                uint8_t *d = read_fixture(fixtures[i], &len);
                EXPECT(d);
                struct model *m = NULL;
                struct serialize_info *info = NULL;
                struct serialize_error e;
                int rc = serialize_load_buffer(d, len, NULL, &m, &info, &e);
                free(d);
                if (rc != 0)
                        printf("# %s: %s\n", fixtures[i], e.message);
                EXPECT(rc == 0);
                bool ok = model_n_features(m) == 4 && model_n_classes(m) == 3 &&
                          strcmp(info->sklearn_version, "1.2.1") == 0 &&
                          strlen(info->sha256) == 64;
                if (strstr(fixtures[i], "str")) {
                        const struct model_label *l = model_class_label(m, 0);
                        ok = ok && l->type == MODEL_LABEL_STR && strcmp(l->v.s, "setosa") == 0;
                } else {
                        const struct model_label *l = model_class_label(m, 2);
                        ok = ok && l->type == MODEL_LABEL_INT && l->v.i == 2;
                }
                model_free(m);
                serialize_info_free(info);
                if (!ok)
                        printf("# %s: unexpected structure\n", fixtures[i]);
                EXPECT(ok);
        }
        return true;
}

/* Every strict prefix of a model file is refused; a loaded file must be
 * usable. Under valgrind this also proves no read past any buffer. */
static bool fixtures_every_truncation_refused(void)
{
        for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
                size_t len;
                uint8_t *d = read_fixture(fixtures[i], &len);
                EXPECT(d);
                size_t step = len > 2000 ? len / 1000 : 1;
                for (size_t cut = 0; cut < len; cut += step) {
                        struct serialize_error e;
                        uint8_t *copy = malloc(cut ? cut : 1);
                        memcpy(copy, d, cut);
                        int rc = load((const char *)copy, cut, NULL, &e);
                        free(copy);
                        if (rc >= 0)
                                printf("# %s cut at %zu loaded\n", fixtures[i], cut);
                        if (rc >= 0) {
                                free(d);
                                return false;
                        }
                }
                free(d);
        }
        return true;
}

static bool fixtures_byte_flips_never_crash(void)
{
        unsigned seed = 12345;
        size_t refused = 0, loaded = 0;
        for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
                size_t len;
                uint8_t *d = read_fixture(fixtures[i], &len);
                EXPECT(d);
                for (int k = 0; k < 300; k++) {
                        seed = seed * 1103515245u + 12345u;
                        size_t pos = (seed >> 8) % len;
                        uint8_t old = d[pos];
                        d[pos] ^= (uint8_t)(1u << ((seed >> 4) % 8));
                        if (k % 2)
                                d[pos] = (uint8_t)(seed >> 16);
                        struct model *m = NULL;
                        struct serialize_info *info = NULL;
                        struct serialize_error e;
                        if (serialize_load_buffer(d, len, NULL, &m, &info, &e) == 0) {
                                /* whatever loaded must predict without fault */
                                double x[4] = { 5.1, 3.5, 1.4, 0.2 };
                                size_t idx;
                                double p[64];
                                struct model_error me;
                                if (model_n_features(m) == 4 && model_n_classes(m) <= 64 &&
                                    model_predict(m, x, 1, &idx, p, &me) == 0)
                                        EXPECT(idx < model_n_classes(m));
                                loaded++;
                        } else {
                                EXPECT(e.message[0] != '\0');
                                refused++;
                        }
                        model_free(m);
                        serialize_info_free(info);
                        d[pos] = old;
                }
                free(d);
        }
        printf("# %zu mutants refused, %zu loaded\n", refused, loaded);
        EXPECT(refused > 0);
        return true;
}

TAP_MAIN(CASE(pickle_global_os_system_refused),
         CASE(pickle_stack_global_dotted_name_refused),
         CASE(pickle_inst_refused),
         CASE(pickle_unsupported_sklearn_class_named),
         CASE(pickle_newobj_of_function_refused),
         CASE(pickle_build_on_list_refused),
         CASE(pickle_ext_persid_buffer_opcodes_refused),
         CASE(pickle_lying_string_length_refused),
         CASE(pickle_lying_frame_length_refused),
         CASE(pickle_stack_and_memo_misuse_refused),
         CASE(pickle_truncated_or_unknown_refused),
         CASE(pickle_partial_bare_refused_where_named),
         CASE(pickle_partial_over_another_function_refused),
         CASE(pickle_partial_only_reduced),
         CASE(pickle_partial_state_is_scikit_learns),
         CASE(pickle_partial_used_once),
         CASE(pickle_partial_outside_its_place_refused),
         CASE(pickle_plain_data_is_not_a_model),
         CASE(pickle_strings_utf8),
         CASE(pickle_trailing_bytes_refused),
         CASE(pickle_limits_enforced),
         CASE(container_other_compressions_refused),
         CASE(fixtures_load_with_structure),
         CASE(fixtures_every_truncation_refused),
         CASE(fixtures_byte_flips_never_crash))
