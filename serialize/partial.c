/* partial.c - the one functools.partial a model file may hold.
 *
 * functools.partial binds arguments to any callable, so a file may not
 * use it in general. From 1.4, though, a HistGradientBoosting estimator
 * with categorical features keeps a _preprocessor: a ColumnTransformer
 * whose 'numerical' part is
 *     FunctionTransformer(functools.partial(sklearn.utils.validation.check_array,
 *                         dtype=[numpy.float64], force_all_finite=False))
 * (ensure_all_finite from 1.6). Python pickles it as REDUCE(partial,
 * (check_array,)) then BUILD with (check_array, (), keywords, None).
 * predictd accepts exactly that value, in exactly that place, and never
 * calls it (on numeric columns check_array changes nothing the model
 * sees: float64 values, NaN kept). It is checked three times:
 *  - by the pickle machine, as the stream runs: the global may only be
 *    REDUCEd over (check_array,) (pickle_vm.c), and the object's state
 *    must be scikit-learn's, bit for bit (partial_check_state);
 *  - by the HistGradientBoosting builder, which places each partial it
 *    finds as the func of its preprocessor's numerical part
 *    (build_place_partial);
 *  - after building: a partial no builder placed fails the load, naming
 *    the global (partial_check_placed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build_internal.h"

static bool is_global(const struct pv *v, const char *module, const char *name)
{
        return v && v->kind == PV_GLOBAL && strcmp(v->u.global->module, module) == 0 &&
               strcmp(v->u.global->name, name) == 0;
}

static bool is_check_array(const struct pv *v)
{
        return v && v->kind == PV_GLOBAL && v->u.global->role == ROLE_CHECK_ARRAY;
}

static const char *global_name(const struct pv *v, char *buf, size_t n)
{
        if (v && v->kind == PV_GLOBAL)
                snprintf(buf, n, "%s.%s", v->u.global->module, v->u.global->name);
        else
                snprintf(buf, n, "a %s", pv_kind_name(v));
        return buf;
}

int partial_check_args(const struct pv *args, char *why, size_t n)
{
        char name[160];
        if (args->kind != PV_TUPLE || args->u.seq.len != 1) {
                snprintf(why, n, "it is called with %zu arguments, expected only "
                         "sklearn.utils.validation.check_array",
                         args->kind == PV_TUPLE ? args->u.seq.len : 0);
                return -EPERM;
        }
        if (!is_check_array(args->u.seq.items[0])) {
                snprintf(why, n, "it wraps %s, not sklearn.utils.validation.check_array",
                         global_name(args->u.seq.items[0], name, sizeof(name)));
                return -EPERM;
        }
        return 0;
}

/* The keywords scikit-learn binds: dtype=[numpy.float64] and
 * force_all_finite=False (1.4, 1.5) or ensure_all_finite=False (1.6+). */
static int check_keywords(const struct pv *kw, char *why, size_t n)
{
        bool dtype = false, finite = false;
        if (kw->kind != PV_DICT || kw->u.dict.len != 2) {
                snprintf(why, n, "it binds %s, expected the keywords dtype and "
                         "force_all_finite (or ensure_all_finite)",
                         kw->kind == PV_DICT ? "another number of keywords"
                                             : pv_kind_name(kw));
                return -EPERM;
        }
        for (size_t i = 0; i < 2; i++) {
                const struct pv *k = kw->u.dict.keys[i], *v = kw->u.dict.vals[i];
                if (pv_is_str(k, "dtype") && !dtype) {
                        dtype = v->kind == PV_LIST && v->u.seq.len == 1 &&
                                is_global(v->u.seq.items[0], "numpy", "float64");
                        if (!dtype) {
                                snprintf(why, n, "it binds dtype to something other than "
                                         "[numpy.float64]");
                                return -EPERM;
                        }
                } else if ((pv_is_str(k, "force_all_finite") ||
                            pv_is_str(k, "ensure_all_finite")) && !finite) {
                        finite = v->kind == PV_BOOL && !v->u.b;
                        if (!finite) {
                                snprintf(why, n, "it binds %s to something other than "
                                         "False", pv_is_str(k, "force_all_finite")
                                                          ? "force_all_finite"
                                                          : "ensure_all_finite");
                                return -EPERM;
                        }
                } else {
                        snprintf(why, n, "it binds a keyword %.60s%s",
                                 k->kind == PV_STR ? k->u.s.data : pv_kind_name(k),
                                 k->kind == PV_STR ? "" : " (not a str)");
                        return -EPERM;
                }
        }
        return 0;
}

int partial_check_state(const struct pv *state, char *why, size_t n)
{
        char name[160];
        if (state->kind != PV_TUPLE || state->u.seq.len != 4) {
                snprintf(why, n, "its state is %s, expected (func, args, keywords, None)",
                         pv_kind_name(state));
                return -EPERM;
        }
        struct pv *const *s = state->u.seq.items;
        if (!is_check_array(s[0])) {
                snprintf(why, n, "its state sets the function to %s, not "
                         "sklearn.utils.validation.check_array",
                         global_name(s[0], name, sizeof(name)));
                return -EPERM;
        }
        if (s[1]->kind != PV_TUPLE || s[1]->u.seq.len != 0) {
                snprintf(why, n, "it binds positional arguments");
                return -EPERM;
        }
        if (s[3]->kind != PV_NONE) {
                snprintf(why, n, "it carries attributes of its own (%s)", pv_kind_name(s[3]));
                return -EPERM;
        }
        return check_keywords(s[2], why, n);
}

int partial_record(struct pickle_ctx *ctx, const struct pv *obj, size_t name_off)
{
        struct partial_list *l = &ctx->partials;
        if (l->n == MAX_PARTIALS)
                return -EFBIG;
        if (!l->v && !(l->v = arena_alloc(ctx->arena, MAX_PARTIALS * sizeof(*l->v))))
                return -EFBIG;
        l->v[l->n++] = (struct partial_made){ .obj = obj, .name_off = name_off };
        return 0;
}

int build_place_partial(struct build_ctx *bc, const struct pv *p, const char *where)
{
        struct partial_list *l = bc->partials;
        if (p->kind != PV_OBJECT || p->u.obj.cls->role != ROLE_PARTIAL)
                return build_fail(bc, -EINVAL, "%s: expected scikit-learn's "
                                  "functools.partial(check_array, ...), found %s", where,
                                  pv_kind_name(p));
        /* the stream checked its state when it was built; one never built
         * binds no keywords and is not scikit-learn's */
        if (!p->u.obj.state)
                return build_fail(bc, -EPERM, "%s: refused global functools.partial: it "
                                  "binds no keywords (its BUILD is missing)", where);
        for (size_t i = 0; l && i < l->n; i++)
                if (l->v[i].obj == p) {
                        l->v[i].placed = true;
                        return 0;
                }
        return build_fail(bc, -EPERM, "%s: refused global functools.partial: not one the "
                          "stream made", where);
}

int partial_check_placed(const struct partial_list *l, struct serialize_error *err)
{
        for (size_t i = 0; i < l->n; i++) {
                const struct partial_made *m = &l->v[i];
                if (m->placed)
                        continue;
                serr_set(err, (long long)m->name_off,
                         "byte offset %zu: refused global functools.partial: only "
                         "scikit-learn's partial(check_array) as the func of a "
                         "HistGradientBoosting _preprocessor's numerical part is accepted, "
                         "and the one made at byte offset %zu is not there",
                         m->name_off, m->obj->offset);
                return -EPERM;
        }
        return 0;
}
