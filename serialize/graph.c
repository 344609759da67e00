/* graph.c - small helpers over the inert graph shared by the pickle
 * machine, the numpy decoder and the builders. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "serialize_internal.h"

void serr_set(struct serialize_error *err, long long offset, const char *fmt,
              ...)
{
        if (!err)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->offset = offset;
}

bool pv_is_str(const struct pv *v, const char *s)
{
        size_t n = strlen(s);
        return v && (v->kind == PV_STR || v->kind == PV_BYTES) &&
               v->u.s.len == n && memcmp(v->u.s.data, s, n) == 0;
}

size_t pv_utf8_put(uint32_t cp, char *out)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xC0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xE0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char)(0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
}

long pv_utf32_decode(const uint8_t *p, size_t units, char byteorder, char *out)
{
        size_t o = 0;
        for (size_t i = 0; i < units; i++) {
                const uint8_t *q = p + 4 * i;
                uint32_t cp = byteorder == '>'
                        ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                        : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
                if (cp == 0)
                        break; /* numpy pads short strings with NULs */
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return -1;
                o += pv_utf8_put(cp, out + o);
        }
        out[o] = '\0';
        return (long)o;
}

struct pv *pv_dict_get(const struct pv *dict, const char *key)
{
        if (!dict || dict->kind != PV_DICT)
                return NULL;
        for (size_t i = dict->u.dict.len; i-- > 0;)
                if (pv_is_str(dict->u.dict.keys[i], key))
                        return dict->u.dict.vals[i];
        return NULL;
}

const char *pv_kind_name(const struct pv *v)
{
        if (!v)
                return "nothing";
        switch (v->kind) {
        case PV_NONE: return "None";
        case PV_BOOL: return "bool";
        case PV_INT: return "int";
        case PV_BIGINT: return "int (wider than 64 bits)";
        case PV_FLOAT: return "float";
        case PV_STR: return "str";
        case PV_BYTES: return "bytes";
        case PV_TUPLE: return "tuple";
        case PV_LIST: return "list";
        case PV_DICT: return "dict";
        case PV_SET: return "set";
        case PV_GLOBAL: return "class or function";
        case PV_OBJECT:
                return v->u.obj.cls->sk_name ? v->u.obj.cls->sk_name
                                             : v->u.obj.cls->name;
        case PV_ARRAY: return "numpy array";
        case PV_DTYPE: return "numpy dtype";
        }
        return "?";
}
