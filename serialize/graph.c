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
