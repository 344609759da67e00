/* build_hist.c - builders for histogram gradient boosting
 * (HistGradientBoostingRegressor, HistGradientBoostingClassifier) and
 * IsolationForest.
 *
 * The state that prediction needs: the loss (its link turns raw values
 * into answers), _baseline_prediction, _predictors (iterations x trees per
 * iteration of TreePredictor, whose nodes use PREDICTOR_RECORD_DTYPE:
 * feature_idx is u4 up to 1.3 and intp from 1.4, so fields are read by
 * name and type) with their raw_left_cat_bitsets, and the bin mapper's
 * known categories, from which known_cat_bitsets is made as
 * _BinMapper.make_known_categories_bitsets does. From 1.4 categorical
 * features first go through _preprocessor, a ColumnTransformer whose
 * OrdinalEncoder codes them and whose numerical part is the one
 * functools.partial the loader accepts (partial.c); it becomes the
 * model's inputs (struct model_hgb_input). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

#define BITSET_WORDS 8

/* The losses HistGradientBoosting holds in _loss (sklearn._loss.loss),
 * each with the link class it always has. */
struct hgb_loss {
        const char *name;
        const char *link;
        enum model_hgb_link kind;
};

static const struct hgb_loss hgb_losses[] = {
        { "HalfSquaredError", "IdentityLink", MODEL_HGB_IDENTITY },
        { "AbsoluteError", "IdentityLink", MODEL_HGB_IDENTITY },
        { "PinballLoss", "IdentityLink", MODEL_HGB_IDENTITY },
        { "HalfPoissonLoss", "LogLink", MODEL_HGB_LOG },
        { "HalfGammaLoss", "LogLink", MODEL_HGB_LOG },
        { "HalfBinomialLoss", "LogitLink", MODEL_HGB_LOGIT },
        { "HalfMultinomialLoss", "MultinomialLogit", MODEL_HGB_SOFTMAX },
};

/* Before 1.1 (0.23 here) the loss is loss_, a plain object of
 * sklearn.ensemble._hist_gradient_boosting.loss with no link attribute:
 * its class alone says the link. */
static const struct hgb_loss hgb_old_losses[] = {
        { "LeastSquares", NULL, MODEL_HGB_IDENTITY },
        { "LeastAbsoluteDeviation", NULL, MODEL_HGB_IDENTITY },
        { "Poisson", NULL, MODEL_HGB_LOG },
        { "BinaryCrossEntropy", NULL, MODEL_HGB_LOGIT },
        { "CategoricalCrossEntropy", NULL, MODEL_HGB_SOFTMAX },
};

#define HGB_OLD_LOSS_MOD "sklearn.ensemble._hist_gradient_boosting.loss"

static int read_old_loss(struct build_ctx *bc, const char *who, const struct pv *loss,
                         enum model_hgb_link *out)
{
        if (loss->kind != PV_OBJECT || strcmp(loss->u.obj.cls->module, HGB_OLD_LOSS_MOD) != 0)
                return build_fail(bc, -EINVAL, "%s.loss_: expected a %s object, found %s", who,
                                  HGB_OLD_LOSS_MOD, pv_kind_name(loss));
        for (size_t i = 0; i < sizeof(hgb_old_losses) / sizeof(hgb_old_losses[0]); i++)
                if (strcmp(loss->u.obj.cls->name, hgb_old_losses[i].name) == 0) {
                        *out = hgb_old_losses[i].kind;
                        return 0;
                }
        return build_fail(bc, -EINVAL, "%s: loss %s is not supported", who, pv_kind_name(loss));
}

static int read_loss(struct build_ctx *bc, const char *who, const struct pv *obj,
                     enum model_hgb_link *out)
{
        const struct pv *loss = build_attr(bc, obj, "_loss");
        if (bc->lookups > bc->max_lookups)
                return build_too_much_work(bc);
        const struct pv *old = loss ? NULL : build_attr(bc, obj, "loss_");
        if (old)
                return read_old_loss(bc, who, old, out);
        if (!loss || loss->kind != PV_OBJECT ||
            strcmp(loss->u.obj.cls->module, "sklearn._loss.loss") != 0)
                return build_fail(bc, -EINVAL, "%s._loss: expected a sklearn._loss.loss "
                                  "object, found %s", who, pv_kind_name(loss));
        for (size_t i = 0; i < sizeof(hgb_losses) / sizeof(hgb_losses[0]); i++) {
                const struct hgb_loss *l = &hgb_losses[i];
                if (strcmp(loss->u.obj.cls->name, l->name) != 0)
                        continue;
                const struct pv *link = build_attr(bc, loss, "link");
                if (!link || link->kind != PV_OBJECT ||
                    strcmp(link->u.obj.cls->module, "sklearn._loss.link") != 0 ||
                    strcmp(link->u.obj.cls->name, l->link) != 0)
                        return build_fail(bc, -EINVAL, "%s._loss.link: expected %s for %s, "
                                          "found %s", who, l->link, l->name,
                                          pv_kind_name(link));
                *out = l->kind;
                return 0;
        }
        return build_fail(bc, -EINVAL, "%s: loss %s is not supported", who,
                          pv_kind_name(loss));
}

static bool is_none(const struct pv *v)
{
        return !v || v->kind == PV_NONE;
}

/* A mask of n flags (bool or integer array) into mask[0..n). */
static int read_mask(struct build_ctx *bc, const char *who, const struct pv *v,
                     const char *what, size_t n, bool *mask)
{
        if (!build_is_built_array(v) || v->u.arr->ndim != 1 || v->u.arr->count != n ||
            !strchr("biu", v->u.arr->dtype->kind))
                return build_fail(bc, -EINVAL, "%s: %s: expected %zu flags, found %s", who,
                                  what, n, pv_kind_name(v));
        const struct pv_array *a = v->u.arr;
        for (size_t i = 0; i < n; i++) {
                int64_t x = 0;
                if (a->dtype->kind == 'b')
                        x = a->data[i * a->dtype->itemsize] != 0;
                else
                        numpy_get_i64(a->dtype, a->data + i * a->dtype->itemsize, &x);
                mask[i] = x != 0;
        }
        return 0;
}

/* known_cat_bitsets and f_idx_map from _bin_mapper: for the i-th
 * categorical feature f, row i holds every category of bin_thresholds_[f]
 * (integers in [0, 255]: fit refuses others). */
static int read_categories(struct build_ctx *bc, const char *who, const struct pv *obj,
                           struct model_hgb_params *p, uint32_t **bitsets,
                           uint32_t **f_idx_map)
{
        const struct pv *bm = NULL, *isc = NULL, *thr = NULL;
        /* bin_mapper_ before 0.24, which had no categorical features */
        const char *bm_name = build_attr(bc, obj, "_bin_mapper") ? "_bin_mapper" : "bin_mapper_";
        int rc = build_need_attr(bc, obj, bm_name, &bm);
        if (rc < 0)
                return rc;
        if (bm->kind != PV_OBJECT || strcmp(build_cls_name(bm), "_BinMapper") != 0 ||
            !bm->u.obj.state)
                return build_fail(bc, -EINVAL, "%s.%s: expected a fitted _BinMapper, "
                                  "found %s", who, bm_name, pv_kind_name(bm));
        isc = build_attr(bc, bm, "is_categorical_");
        if (is_none(isc))
                return 0; /* no categorical features */
        if ((rc = build_charge(bc, p->n_features * sizeof(bool), who)) < 0)
                return rc;
        bool *mask = malloc(p->n_features * sizeof(bool));
        if (!mask)
                return build_fail(bc, -ENOMEM, "out of memory for %zu features", p->n_features);
        size_t n_cat = 0;
        uint32_t *sets = NULL, *map = NULL;
        if ((rc = read_mask(bc, who, isc, "_bin_mapper.is_categorical_", p->n_features,
                            mask)) < 0)
                goto fail;
        for (size_t f = 0; f < p->n_features; f++)
                n_cat += mask[f];
        if (n_cat == 0) {
                free(mask);
                return 0;
        }
        if ((rc = build_need_attr(bc, bm, "bin_thresholds_", &thr)) < 0)
                goto fail;
        if (thr->kind != PV_LIST || thr->u.seq.len != p->n_features) {
                rc = build_fail(bc, -EINVAL, "%s._bin_mapper.bin_thresholds_: expected a "
                                "list of %zu arrays, found %s", who, p->n_features,
                                pv_kind_name(thr));
                goto fail;
        }
        if ((rc = build_charge(bc, (n_cat * BITSET_WORDS + p->n_features) * sizeof(uint32_t),
                               who)) < 0)
                goto fail;
        sets = calloc(n_cat * BITSET_WORDS, sizeof(uint32_t));
        map = malloc(p->n_features * sizeof(uint32_t));
        if (!sets || !map) {
                rc = build_fail(bc, -ENOMEM, "out of memory for categories");
                goto fail;
        }
        size_t c = 0;
        for (size_t f = 0; f < p->n_features; f++) {
                map[f] = UINT32_MAX;
                if (!mask[f])
                        continue;
                const struct pv *cats = thr->u.seq.items[f];
                if (!build_is_built_array(cats) || cats->u.arr->ndim != 1 ||
                    !strchr("fiu", cats->u.arr->dtype->kind)) {
                        rc = build_fail(bc, -EINVAL, "%s._bin_mapper.bin_thresholds_[%zu]: "
                                        "expected a 1-D numeric array, found %s", who, f,
                                        pv_kind_name(cats));
                        goto fail;
                }
                const struct pv_array *ca = cats->u.arr;
                for (size_t i = 0; i < ca->count; i++) {
                        double d = 0;
                        numpy_get_f64(ca->dtype, ca->data + i * ca->dtype->itemsize, &d);
                        if (!(d >= 0 && d <= 255 && d == floor(d))) {
                                rc = build_fail(bc, -EINVAL, "%s: category %g of feature %zu "
                                                "is not an integer in [0, 255]", who, d, f);
                                goto fail;
                        }
                        unsigned b = (unsigned)d;
                        sets[c * BITSET_WORDS + b / 32] |= 1u << (b % 32);
                }
                map[f] = (uint32_t)c++;
        }
        free(mask);
        p->n_cat = n_cat;
        *bitsets = sets;
        *f_idx_map = map;
        return 0;
fail:
        free(mask);
        free(sets);
        free(map);
        return rc;
}

/* --- the 1.4+ preprocessor ---------------------------------------------- */

/* What _preprocessor makes of the input columns: per tree feature, its
 * input column and, for a categorical one, the categories (malloc'd). */
struct hgb_inputs {
        struct model_hgb_input *in; /* n_features */
        double *cats;               /* every categorical feature's, back to back */
};

static void hgb_inputs_free(struct hgb_inputs *hi)
{
        free(hi->in);
        free(hi->cats);
}

/* A ColumnTransformer part's columns as scikit-learn gives them here: a
 * numpy bool mask over the n input columns. */
static int read_part_mask(struct build_ctx *bc, const char *who, const char *part,
                          const struct pv *cols, size_t n, bool *mask)
{
        if (!build_is_built_array(cols) || cols->u.arr->dtype->kind != 'b')
                return build_fail(bc, -EINVAL, "%s._preprocessor part '%s': expected a boolean "
                                  "mask of columns, found %s", who, part, pv_kind_name(cols));
        return read_mask(bc, who, cols, "_preprocessor columns", n, mask);
}

/* Input column j for messages: by feature_names_in_[j] and index, or by
 * index. */
static const char *column_name(struct build_ctx *bc, const struct pv *obj, size_t j,
                               char *buf, size_t len)
{
        const struct pv *names = build_attr(bc, obj, "feature_names_in_");
        const struct pv *nm = build_is_built_array(names) && names->u.arr->objects &&
                                              j < names->u.arr->count
                                      ? names->u.arr->objects[j]
                                      : NULL;
        if (nm && nm->kind == PV_STR)
                snprintf(buf, len, "column '%.60s' (index %zu)", nm->u.s.data, j);
        else
                snprintf(buf, len, "column %zu", j);
        return buf;
}

/* The OrdinalEncoder HistGradientBoosting makes: unknown and missing
 * values both become NaN, and no category is grouped as infrequent. */
static int check_encoder(struct build_ctx *bc, const char *who, const struct pv *enc)
{
        const struct pv *hu = build_attr(bc, enc, "handle_unknown");
        const struct pv *uv = build_attr(bc, enc, "unknown_value");
        const struct pv *mv = build_attr(bc, enc, "encoded_missing_value");
        if (enc->kind != PV_OBJECT || strcmp(build_cls_name(enc), "OrdinalEncoder") != 0 ||
            !enc->u.obj.state)
                return build_fail(bc, -EINVAL, "%s._preprocessor part 'encoder': expected a "
                                  "fitted OrdinalEncoder, found %s", who, pv_kind_name(enc));
        if (!pv_is_str(hu, "use_encoded_value") || !uv || uv->kind != PV_FLOAT ||
            !isnan(uv->u.f) || !mv || mv->kind != PV_FLOAT || !isnan(mv->u.f) ||
            build_attr_bool(bc, enc, "_infrequent_enabled", false))
                return build_fail(bc, -EINVAL, "%s._preprocessor part 'encoder': expected "
                                  "unknown and missing values encoded as NaN and no "
                                  "infrequent categories, as scikit-learn makes it", who);
        return 0;
}

/* categories_[k] of input column src, as HistGradientBoosting's tree
 * feature f sees them: sorted numbers, NaN (last, if missing values were
 * seen) left out. Must match the bin mapper's codes 0..n-1. Appends to
 * cats at *used. */
static int read_feature_cats(struct build_ctx *bc, const char *who, const struct pv *obj,
                             const struct pv *a, size_t src, const struct model_hgb_params *p,
                             size_t f, double *cats, size_t *used,
                             struct model_hgb_input *in)
{
        char col[128];
        const struct pv_array *ca = build_is_built_array(a) ? a->u.arr : NULL;
        if (!ca || ca->ndim != 1)
                return build_fail(bc, -EINVAL, "%s._preprocessor: categories of %s: expected "
                                  "a 1-D array, found %s", who,
                                  column_name(bc, obj, src, col, sizeof(col)), pv_kind_name(a));
        if (!strchr("fiubOU", ca->dtype->kind))
                return build_fail(bc, -EINVAL, "%s: categorical %s has categories of dtype "
                                  "kind '%c' (expected numbers or strings)", who,
                                  column_name(bc, obj, src, col, sizeof(col)),
                                  ca->dtype->kind);
        size_t n = ca->count, start = *used, n_str = 0;
        for (size_t i = 0; i < n; i++) {
                double v = 0;
                bool is_str = false;
                char what[160];
                snprintf(what, sizeof(what), "%s._preprocessor: category %zu of %s", who, i,
                         column_name(bc, obj, src, col, sizeof(col)));
                int rc = build_array_cell(bc, ca, i, what, &v, &is_str);
                if (rc < 0)
                        return rc;
                if (!is_str && isnan(v) && i == n - 1)
                        break; /* OrdinalEncoder keeps NaN last; it encodes as NaN */
                if (!is_str && !isfinite(v))
                        return build_fail(bc, -EINVAL, "%s is not a finite number or a string",
                                          what);
                n_str += is_str;
                cats[(*used)++] = v;
        }
        if (n_str && n_str != *used - start)
                return build_fail(bc, -EINVAL, "%s: categorical %s mixes strings and numbers",
                                  who, column_name(bc, obj, src, col, sizeof(col)));
        size_t k = *used - start;
        /* the trees know the codes the encoder gives: exactly 0..k-1 */
        const uint32_t *row = p->f_idx_map && p->f_idx_map[f] < p->n_cat
                                      ? p->known_cat_bitsets + (size_t)p->f_idx_map[f] * BITSET_WORDS
                                      : NULL;
        bool same = row && k <= 256;
        for (size_t b = 0; same && b < 256; b++)
                same = ((row[b / 32] >> (b % 32)) & 1u) == (b < k);
        if (!same)
                return build_fail(bc, -EINVAL, "%s: %s has %zu categories, but tree feature %zu "
                                  "does not know exactly the codes 0..%zu", who,
                                  column_name(bc, obj, src, col, sizeof(col)), k, f,
                                  k ? k - 1 : 0);
        *in = (struct model_hgb_input){
                .src = (uint32_t)src, .categorical = true, .strings = n_str > 0, .n_cats = k,
                .cats = cats + start,
        };
        return 0;
}

/* Places the partial of a 'numerical' FunctionTransformer in a list of
 * ColumnTransformer entries (transformers_ and the transformers
 * parameter). */
static int place_numerical(struct build_ctx *bc, const char *who, const struct pv *list,
                           const char *what)
{
        char where[160];
        for (size_t i = 0; list && list->kind == PV_LIST && i < list->u.seq.len; i++) {
                const struct pv *e = list->u.seq.items[i];
                if (e->kind != PV_TUPLE || e->u.seq.len != 3 ||
                    !pv_is_str(e->u.seq.items[0], "numerical"))
                        continue;
                const struct pv *ft = e->u.seq.items[1];
                if (ft->kind != PV_OBJECT || strcmp(build_cls_name(ft), "FunctionTransformer") != 0 ||
                    !ft->u.obj.state)
                        return build_fail(bc, -EINVAL, "%s._preprocessor.%s[%zu]: expected a "
                                          "FunctionTransformer, found %s", who, what, i,
                                          pv_kind_name(ft));
                const struct pv *func = build_attr(bc, ft, "func");
                const struct pv *inv = build_attr(bc, ft, "inverse_func");
                snprintf(where, sizeof(where), "%s._preprocessor.%s[%zu].func", who, what, i);
                if (inv && inv->kind != PV_NONE)
                        return build_fail(bc, -EPERM, "%s: an inverse_func runs Python code, "
                                          "which predictd never does", where);
                int rc = build_place_partial(bc, func ? func : ft, where);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* From 1.4, _preprocessor: ColumnTransformer([('encoder', OrdinalEncoder,
 * mask), ('numerical', FunctionTransformer(partial(check_array)), ~mask)])
 * (1.9 adds ('remainder', 'drop', ...)). Its output, which the trees
 * see, is the categorical columns encoded, then the numerical ones, each
 * in input order. Into hi->in when there is one. */
static int read_preprocessor(struct build_ctx *bc, const char *who, const struct pv *obj,
                             const struct model_hgb_params *p, struct hgb_inputs *hi)
{
        const struct pv *pp = build_attr(bc, obj, "_preprocessor");
        const struct pv *tr = NULL, *enc = NULL, *cl = NULL;
        bool *enc_mask = NULL, *num_mask = NULL, seen_num = false;
        size_t n = p->n_features, n_cat = 0, total = 0, used = 0;
        int64_t nf = 0;
        int rc;
        if (is_none(pp))
                return 0;
        if (pp->kind != PV_OBJECT || strcmp(build_cls_name(pp), "ColumnTransformer") != 0 ||
            !pp->u.obj.state)
                return build_fail(bc, -EINVAL, "%s._preprocessor: expected a fitted "
                                  "ColumnTransformer, found %s", who, pv_kind_name(pp));
        if ((rc = build_attr_int(bc, pp, "n_features_in_", &nf)) < 0 ||
            (rc = build_need_attr(bc, pp, "transformers_", &tr)) < 0)
                return rc;
        if ((uint64_t)nf != n || tr->kind != PV_LIST)
                return build_fail(bc, -EINVAL, "%s._preprocessor: expected transformers_ over "
                                  "%zu columns, found %s over %lld", who, n, pv_kind_name(tr),
                                  (long long)nf);
        if ((rc = build_charge(bc, 2 * n * sizeof(bool) + n * sizeof(*hi->in), who)) < 0)
                return rc;
        enc_mask = calloc(n, sizeof(bool));
        num_mask = calloc(n, sizeof(bool));
        hi->in = calloc(n, sizeof(*hi->in));
        if (!enc_mask || !num_mask || !hi->in) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu columns", n);
                goto out;
        }
        for (size_t i = 0; i < tr->u.seq.len; i++) {
                const struct pv *e = tr->u.seq.items[i];
                const struct pv *name = e->kind == PV_TUPLE && e->u.seq.len == 3
                                                ? e->u.seq.items[0] : NULL;
                if (pv_is_str(name, "encoder") && !enc) {
                        enc = e->u.seq.items[1];
                        rc = read_part_mask(bc, who, "encoder", e->u.seq.items[2], n, enc_mask);
                } else if (pv_is_str(name, "numerical") && !seen_num) {
                        seen_num = true;
                        rc = read_part_mask(bc, who, "numerical", e->u.seq.items[2], n, num_mask);
                } else if (!(pv_is_str(name, "remainder") && pv_is_str(e->u.seq.items[1], "drop"))) {
                        rc = build_fail(bc, -EINVAL, "%s._preprocessor.transformers_[%zu]: "
                                        "expected the parts 'encoder', 'numerical' and a "
                                        "dropped remainder, found another", who, i);
                }
                if (rc < 0)
                        goto out;
        }
        if (!enc || !seen_num) {
                rc = build_fail(bc, -EINVAL, "%s._preprocessor: expected an 'encoder' and a "
                                "'numerical' part", who);
                goto out;
        }
        for (size_t j = 0; j < n; j++) {
                if (enc_mask[j] == num_mask[j]) {
                        rc = build_fail(bc, -EINVAL, "%s._preprocessor: input column %zu is in "
                                        "%s part", who, j, enc_mask[j] ? "both" : "neither");
                        goto out;
                }
                n_cat += enc_mask[j];
        }
        if ((rc = place_numerical(bc, who, tr, "transformers_")) < 0 ||
            (rc = place_numerical(bc, who, build_attr(bc, pp, "transformers"),
                                  "transformers")) < 0 ||
            (rc = check_encoder(bc, who, enc)) < 0 ||
            (rc = build_need_attr(bc, enc, "categories_", &cl)) < 0)
                goto out;
        if (cl->kind != PV_LIST || cl->u.seq.len != n_cat) {
                rc = build_fail(bc, -EINVAL, "%s._preprocessor: the encoder has %s of "
                                "categories for %zu categorical columns", who,
                                pv_kind_name(cl), n_cat);
                goto out;
        }
        for (size_t k = 0; k < n_cat; k++) {
                const struct pv *a = cl->u.seq.items[k];
                total += build_is_built_array(a) ? a->u.arr->count : 0;
        }
        if (total > (size_t)n_cat * 257 ||
            (rc = build_charge(bc, total * sizeof(double), who)) < 0) {
                if (rc == 0)
                        rc = build_fail(bc, -EINVAL, "%s._preprocessor: more than 256 "
                                        "categories in a column", who);
                goto out;
        }
        hi->cats = malloc((total ? total : 1) * sizeof(double));
        if (!hi->cats) {
                rc = build_fail(bc, -ENOMEM, "out of memory for categories");
                goto out;
        }
        size_t f = 0, g = n_cat;
        for (size_t j = 0; j < n; j++) {
                if (!enc_mask[j]) {
                        hi->in[g++] = (struct model_hgb_input){ .src = (uint32_t)j };
                        continue;
                }
                if ((rc = read_feature_cats(bc, who, obj, cl->u.seq.items[f], j, p, f,
                                            hi->cats, &used, &hi->in[f])) < 0)
                        goto out;
                f++;
        }
        /* the trees see the numerical columns as numerical */
        for (f = n_cat; f < n; f++)
                if (p->f_idx_map && p->f_idx_map[f] != UINT32_MAX) {
                        rc = build_fail(bc, -EINVAL, "%s: tree feature %zu is categorical but "
                                        "reads numerical input column %u", who, f,
                                        (unsigned)hi->in[f].src);
                        goto out;
                }
out:
        free(enc_mask);
        free(num_mask);
        return rc;
}

/* The fields of PREDICTOR_RECORD_DTYPE that prediction reads. */
enum { F_VALUE, F_FEATURE, F_THRESHOLD, F_MISSING_LEFT, F_LEFT, F_RIGHT, F_IS_LEAF,
       F_IS_CAT, F_BITSET, N_FIELDS };
static const char *const node_fields[N_FIELDS] = {
        "value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right",
        "is_leaf", "is_categorical", "bitset_idx",
};

/* One TreePredictor into tr; nodes and bitsets are malloc'd for the
 * caller. Before 0.24 (0.23 here) nodes name the threshold 'threshold'
 * and have no categorical splits: no is_categorical, bitset_idx or
 * raw_left_cat_bitsets. */
static int read_predictor(struct build_ctx *bc, const char *who, size_t it, size_t j,
                          const struct pv *pred, struct model_hgb_tree *tr)
{
        const struct pv *nodes = NULL, *sets = NULL;
        int rc;
        if (pred->kind != PV_OBJECT || strcmp(build_cls_name(pred), "TreePredictor") != 0 ||
            !pred->u.obj.state)
                return build_fail(bc, -EINVAL, "%s._predictors[%zu][%zu]: expected a "
                                  "TreePredictor, found %s", who, it, j, pv_kind_name(pred));
        if ((rc = build_need_attr(bc, pred, "nodes", &nodes)) < 0)
                return rc;
        if (!build_is_built_array(nodes) || nodes->u.arr->ndim != 1 ||
            !nodes->u.arr->dtype->n_fields || nodes->u.arr->count == 0)
                return build_fail(bc, -EINVAL, "%s._predictors[%zu][%zu].nodes: expected a "
                                  "structured 1-D array, found %s", who, it, j,
                                  pv_kind_name(nodes));
        const struct pv_array *na = nodes->u.arr;
        const struct pv_dtype *nd = na->dtype;
        bool old = build_field_index(nd, "num_threshold") < 0 &&
                   build_field_index(nd, "is_categorical") < 0 &&
                   build_field_index(nd, "threshold") >= 0;
        int n_fields = old ? F_IS_CAT : N_FIELDS, fi[N_FIELDS];
        if (!old && (rc = build_need_attr(bc, pred, "raw_left_cat_bitsets", &sets)) < 0)
                return rc;
        for (int k = 0; k < n_fields; k++) {
                fi[k] = build_field_index(nd, old && k == F_THRESHOLD ? "threshold"
                                                                      : node_fields[k]);
                bool want_float = k == F_VALUE || k == F_THRESHOLD;
                if (fi[k] < 0 || (want_float ? nd->field_types[fi[k]]->kind != 'f'
                                             : !strchr("iub", nd->field_types[fi[k]]->kind)))
                        return build_fail(bc, -EINVAL, "%s._predictors[%zu][%zu].nodes: field "
                                          "%s is missing or not %s", who, it, j,
                                          node_fields[k], want_float ? "a float" : "an integer");
        }
        if (!old && (!build_is_built_array(sets) || sets->u.arr->dtype->kind != 'u' ||
                     sets->u.arr->dtype->itemsize != 4 || sets->u.arr->ndim != 2 ||
                     sets->u.arr->shape[1] != BITSET_WORDS))
                return build_fail(bc, -EINVAL, "%s._predictors[%zu][%zu].raw_left_cat_bitsets: "
                                  "expected a uint32 array of shape (n, 8), found %s", who, it,
                                  j, pv_kind_name(sets));
        const struct pv_array *sa = old ? NULL : sets->u.arr;
        size_t n_sets = sa ? sa->shape[0] : 0, n_words = sa ? sa->count : 0;
        if ((rc = build_charge(bc, na->count * sizeof(struct model_hgb_node) +
                                           n_words * sizeof(uint32_t), who)) < 0)
                return rc;
        struct model_hgb_node *tn = calloc(na->count, sizeof(*tn));
        uint32_t *bits = malloc((n_words ? n_words : 1) * sizeof(uint32_t));
        if (!tn || !bits) {
                free(tn);
                free(bits);
                return build_fail(bc, -ENOMEM, "out of memory for %zu nodes", na->count);
        }
        for (size_t i = 0; i < na->count; i++) {
                const uint8_t *rec = na->data + i * nd->itemsize;
                int64_t iv[N_FIELDS] = { 0 };
                for (int k = 0; k < n_fields; k++) {
                        if (k == F_VALUE || k == F_THRESHOLD)
                                continue;
                        const struct pv_dtype *ft = nd->field_types[fi[k]];
                        bool ok = ft->kind == 'b'
                                          ? (iv[k] = rec[nd->field_offsets[fi[k]]] != 0, true)
                                          : numpy_get_i64(ft, rec + nd->field_offsets[fi[k]],
                                                          &iv[k]);
                        if (!ok || iv[k] < 0 || iv[k] > UINT32_MAX) {
                                rc = build_fail(bc, -EINVAL, "%s._predictors[%zu][%zu].nodes"
                                                "[%zu].%s is out of range", who, it, j, i,
                                                node_fields[k]);
                                goto fail;
                        }
                }
                numpy_get_f64(nd->field_types[fi[F_VALUE]], rec + nd->field_offsets[fi[F_VALUE]],
                              &tn[i].value);
                numpy_get_f64(nd->field_types[fi[F_THRESHOLD]],
                              rec + nd->field_offsets[fi[F_THRESHOLD]], &tn[i].num_threshold);
                tn[i].feature = (uint32_t)iv[F_FEATURE];
                tn[i].left = (uint32_t)iv[F_LEFT];
                tn[i].right = (uint32_t)iv[F_RIGHT];
                tn[i].bitset_idx = (uint32_t)iv[F_BITSET];
                tn[i].is_leaf = iv[F_IS_LEAF] != 0;
                tn[i].missing_go_to_left = iv[F_MISSING_LEFT] != 0;
                tn[i].is_categorical = iv[F_IS_CAT] != 0;
        }
        for (size_t i = 0; i < n_words; i++) {
                int64_t w = 0;
                numpy_get_i64(sa->dtype, sa->data + i * 4, &w);
                bits[i] = (uint32_t)w;
        }
        tr->n_nodes = na->count;
        tr->nodes = tn;
        tr->n_bitsets = n_sets;
        tr->left_cat_bitsets = bits;
        return 0;
fail:
        free(tn);
        free(bits);
        return rc;
}

static void free_trees(struct model_hgb_tree *trees, size_t n)
{
        if (!trees)
                return;
        for (size_t i = 0; i < n; i++) {
                free((void *)trees[i].nodes);
                free((void *)trees[i].left_cat_bitsets);
        }
        free(trees);
}

static int build_hgb(struct build_ctx *bc, const struct pv *obj, bool classifier,
                     struct model **out)
{
        const char *who = build_cls_name(obj);
        struct build_labels labels = { 0 };
        struct model_hgb_params p = { 0 };
        struct model_hgb_tree *trees = NULL;
        uint32_t *known = NULL, *f_idx_map = NULL;
        struct hgb_inputs inputs = { 0 };
        double *baseline = NULL;
        const struct pv *preds = NULL;
        size_t n_read = 0, s0 = 0, s1 = 0;
        int64_t nf = 0, k = 0;
        struct model_error me;
        int rc;
        if (classifier && (rc = build_read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = read_loss(bc, who, obj, &p.link)) < 0)
                goto out;
        if ((p.link == MODEL_HGB_LOGIT || p.link == MODEL_HGB_SOFTMAX) != classifier) {
                rc = build_fail(bc, -EINVAL, "%s: its loss does not belong to it", who);
                goto out;
        }
        /* n_features_ before 1.0 */
        if ((rc = build_attr_int(bc, obj, build_attr(bc, obj, "_n_features") ? "_n_features"
                                                                             : "n_features_",
                                 &nf)) < 0 ||
            (rc = build_attr_int(bc, obj, "n_trees_per_iteration_", &k)) < 0)
                goto out;
        if (nf <= 0 || k <= 0 || k > 1 << 20) {
                rc = build_fail(bc, -EINVAL, "%s: %lld features and %lld trees per iteration",
                                who, (long long)nf, (long long)k);
                goto out;
        }
        p.n_features = (size_t)nf;
        p.k = (size_t)k;
        const struct pv *bp = build_attr(bc, obj, "_baseline_prediction");
        if (bp && bp->kind == PV_FLOAT) {
                /* a numpy float64 scalar before 1.0 for one tree per iteration */
                if (!(baseline = malloc(sizeof(double)))) {
                        rc = build_fail(bc, -ENOMEM, "out of memory");
                        goto out;
                }
                baseline[0] = bp->u.f;
                s0 = s1 = 1;
        } else if ((rc = build_attr_f64(bc, obj, "_baseline_prediction", 0, &baseline, &s0,
                                        &s1)) < 0) {
                goto out;
        }
        if (s0 * s1 != p.k) {
                rc = build_fail(bc, -EINVAL, "%s._baseline_prediction: expected %zu values, "
                                "found %zu", who, p.k, s0 * s1);
                goto out;
        }
        p.baseline = baseline;
        if ((rc = read_categories(bc, who, obj, &p, &known, &f_idx_map)) < 0)
                goto out;
        p.known_cat_bitsets = known;
        p.f_idx_map = f_idx_map;
        if ((rc = read_preprocessor(bc, who, obj, &p, &inputs)) < 0)
                goto out;
        p.inputs = inputs.in;
        if ((rc = build_need_attr(bc, obj, "_predictors", &preds)) < 0)
                goto out;
        if (preds->kind != PV_LIST || preds->u.seq.len == 0) {
                rc = build_fail(bc, -EINVAL, "%s._predictors: expected a non-empty list, "
                                "found %s", who, pv_kind_name(preds));
                goto out;
        }
        p.n_iter = preds->u.seq.len;
        if (p.n_iter > SIZE_MAX / p.k / sizeof(*trees) ||
            (rc = build_charge(bc, p.n_iter * p.k * sizeof(*trees), who)) < 0) {
                if (rc == 0)
                        rc = build_fail(bc, -EFBIG, "%s: too many predictors", who);
                goto out;
        }
        trees = calloc(p.n_iter * p.k, sizeof(*trees));
        if (!trees) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu predictors", p.n_iter * p.k);
                goto out;
        }
        for (size_t i = 0; i < p.n_iter; i++) {
                const struct pv *row = preds->u.seq.items[i];
                if (row->kind != PV_LIST || row->u.seq.len != p.k) {
                        rc = build_fail(bc, -EINVAL, "%s._predictors[%zu]: expected a list of "
                                        "%zu predictors, found %s", who, i, p.k,
                                        pv_kind_name(row));
                        goto out;
                }
                for (size_t j = 0; j < p.k; j++, n_read++)
                        if ((rc = read_predictor(bc, who, i, j, row->u.seq.items[j],
                                                 &trees[n_read])) < 0)
                                goto out;
        }
        p.trees = trees;
        /* 1.5 made predict use raw values (scikit-learn PR 27844) */
        p.predict_from_proba = build_saved_before(bc, obj, 1, 5);
        if ((rc = model_hgb_create(&p, labels.v, labels.n, out, &me)) < 0) {
                build_model_error(bc, rc, &me);
                goto out;
        }
        if ((rc = build_check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
out:
        free_trees(trees, n_read);
        hgb_inputs_free(&inputs);
        free(known);
        free(f_idx_map);
        free(baseline);
        build_labels_free(&labels);
        return rc;
}

static int build_hgbr(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_hgb(bc, obj, false, out);
}

static int build_hgbc(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_hgb(bc, obj, true, out);
}

/* --- isolation forest ------------------------------------------------ */

/* Per-tree arrays of an IsolationForest member, malloc'd. */
struct itree_parts {
        struct model_tree_node *nodes;
        double *pl, *apl;
        int64_t *features;
        uint8_t *missing_left;
};

static void itree_parts_free(struct itree_parts *ip)
{
        free(ip->nodes);
        free(ip->pl);
        free(ip->apl);
        free(ip->features);
        free(ip->missing_left);
}

/* cached[t] as n doubles (1.4+ _decision_path_lengths and
 * _average_path_length_per_tree), or -EINVAL. */
static int read_cached(struct build_ctx *bc, const char *who, const struct pv *list,
                       const char *what, size_t t, size_t n, double *out)
{
        const struct pv *a = (list->kind == PV_TUPLE || list->kind == PV_LIST) &&
                                             t < list->u.seq.len
                                     ? list->u.seq.items[t]
                                     : NULL;
        if (!build_is_built_array(a) || a->u.arr->ndim != 1 || a->u.arr->count != n ||
            !strchr("fiu", a->u.arr->dtype->kind))
                return build_fail(bc, -EINVAL, "%s.%s[%zu]: expected %zu numbers, found %s",
                                  who, what, t, n, pv_kind_name(a));
        for (size_t i = 0; i < n; i++)
                numpy_get_f64(a->u.arr->dtype, a->u.arr->data + i * a->u.arr->dtype->itemsize,
                              &out[i]);
        return 0;
}

/* Member t: its Tree's nodes, each node's path length and average path
 * length (cached by 1.4+, else computed as 1.2's decision_path and
 * _average_path_length do), and its columns of X. */
static int read_itree(struct build_ctx *bc, const char *who, const struct pv *obj, size_t t,
                      const struct pv *est, const struct pv *dpl, const struct pv *apl,
                      bool whole, bool nan_routed, struct model_iforest_tree *tr,
                      struct itree_parts *ip)
{
        const struct pv *tree = NULL, *feats = NULL;
        int rc;
        if (est->kind != PV_OBJECT || strcmp(build_cls_name(est), "ExtraTreeRegressor") != 0 ||
            !est->u.obj.state)
                return build_fail(bc, -EINVAL, "%s.estimators_[%zu]: expected a fitted "
                                  "ExtraTreeRegressor, found %s", who, t, pv_kind_name(est));
        if ((rc = build_need_attr(bc, est, "tree_", &tree)) < 0)
                return rc;
        const struct pv *args = tree->kind == PV_OBJECT ? tree->u.obj.args : NULL;
        const struct pv *nodes = tree->kind == PV_OBJECT && tree->u.obj.state
                                         ? build_state_get(bc, tree->u.obj.state, "nodes")
                                         : NULL;
        if (!args || args->kind != PV_TUPLE || args->u.seq.len != 3 ||
            args->u.seq.items[0]->kind != PV_INT || args->u.seq.items[0]->u.i <= 0 ||
            !build_is_built_array(nodes) || nodes->u.arr->ndim != 1 ||
            !nodes->u.arr->dtype->n_fields)
                return build_fail(bc, -EINVAL, "%s.estimators_[%zu].tree_: expected a fitted "
                                  "Tree", who, t);
        const struct pv_array *na = nodes->u.arr;
        const struct pv_dtype *nd = na->dtype;
        static const char *const names[5] = { "left_child", "right_child", "feature",
                                              "threshold", "n_node_samples" };
        int fi[5];
        for (int k = 0; k < 5; k++) {
                fi[k] = build_field_index(nd, names[k]);
                if (fi[k] < 0 || (k == 3) != (nd->field_types[fi[k]]->kind == 'f') ||
                    (k != 3 && !strchr("iu", nd->field_types[fi[k]]->kind)))
                        return build_fail(bc, -EINVAL, "%s.estimators_[%zu].tree_.nodes: "
                                          "field %s missing or of the wrong kind", who, t,
                                          names[k]);
        }
        size_t n = na->count, nf = (size_t)args->u.seq.items[0]->u.i;
        if (n == 0 || nf > SIZE_MAX / sizeof(int64_t))
                return build_fail(bc, -EINVAL, "%s.estimators_[%zu]: empty tree", who, t);
        if ((rc = build_check_node_count(bc, who, tree, n)) < 0)
                return rc;
        int fm = nan_routed ? build_field_index(nd, "missing_go_to_left") : -1;
        if (nan_routed && (fm < 0 || !strchr("iub", nd->field_types[fm]->kind)))
                return build_fail(bc, -EINVAL, "%s.estimators_[%zu].tree_.nodes: expected an "
                                  "integer missing_go_to_left field (1.9)", who, t);
        if ((rc = build_charge(bc, n * (sizeof(*ip->nodes) + 2 * sizeof(double) + 1), who)) < 0)
                return rc;
        if (nan_routed && !(ip->missing_left = calloc(n, 1)))
                return build_fail(bc, -ENOMEM, "out of memory for %zu nodes", n);
        ip->nodes = malloc(n * sizeof(*ip->nodes));
        ip->pl = calloc(n, sizeof(double));
        ip->apl = malloc(n * sizeof(double));
        if (!ip->nodes || !ip->pl || !ip->apl)
                return build_fail(bc, -ENOMEM, "out of memory for %zu nodes", n);
        for (size_t i = 0; i < n; i++) {
                const uint8_t *rec = na->data + i * nd->itemsize;
                struct model_tree_node *tn = &ip->nodes[i];
                int64_t samples = 0;
                if (!numpy_get_i64(nd->field_types[fi[0]], rec + nd->field_offsets[fi[0]],
                                   &tn->left) ||
                    !numpy_get_i64(nd->field_types[fi[1]], rec + nd->field_offsets[fi[1]],
                                   &tn->right) ||
                    !numpy_get_i64(nd->field_types[fi[2]], rec + nd->field_offsets[fi[2]],
                                   &tn->feature) ||
                    !numpy_get_i64(nd->field_types[fi[4]], rec + nd->field_offsets[fi[4]],
                                   &samples))
                        return build_fail(bc, -EINVAL, "%s.estimators_[%zu].tree_.nodes[%zu]: "
                                          "an index is out of range", who, t, i);
                numpy_get_f64(nd->field_types[fi[3]], rec + nd->field_offsets[fi[3]],
                              &tn->threshold);
                if (fm >= 0)
                        ip->missing_left[i] = rec[nd->field_offsets[fm]] != 0;
                if (i == 0)
                        ip->pl[0] = 1.0;
                /* decision_path counts the nodes on the way: a child has
                 * its parent's count plus one (children come later) */
                if (tn->left > (int64_t)i && tn->left < (int64_t)n && tn->right > (int64_t)i &&
                    tn->right < (int64_t)n) {
                        ip->pl[tn->left] = ip->pl[i] + 1.0;
                        ip->pl[tn->right] = ip->pl[i] + 1.0;
                }
                ip->apl[i] = model_iforest_average_path_length((double)samples);
        }
        if (dpl && ((rc = read_cached(bc, who, dpl, "_decision_path_lengths", t, n, ip->pl)) < 0 ||
                    (rc = read_cached(bc, who, apl, "_average_path_length_per_tree", t, n,
                                      ip->apl)) < 0))
                return rc;
        if (!whole) {
                const struct pv *fl = build_attr(bc, obj, "estimators_features_");
                feats = fl && fl->kind == PV_LIST && t < fl->u.seq.len ? fl->u.seq.items[t]
                                                                       : NULL;
                if (!build_is_built_array(feats) || feats->u.arr->ndim != 1 ||
                    feats->u.arr->count != nf || !strchr("iu", feats->u.arr->dtype->kind))
                        return build_fail(bc, -EINVAL, "%s.estimators_features_[%zu]: expected "
                                          "%zu feature indices, found %s", who, t, nf,
                                          pv_kind_name(feats));
                if ((rc = build_charge(bc, nf * sizeof(int64_t), who)) < 0)
                        return rc;
                ip->features = malloc(nf * sizeof(int64_t));
                if (!ip->features)
                        return build_fail(bc, -ENOMEM, "out of memory for features");
                for (size_t j = 0; j < nf; j++)
                        if (!numpy_get_i64(feats->u.arr->dtype, feats->u.arr->data +
                                                   j * feats->u.arr->dtype->itemsize,
                                           &ip->features[j]))
                                return build_fail(bc, -EINVAL, "%s.estimators_features_[%zu]: "
                                                  "index out of range", who, t);
        }
        *tr = (struct model_iforest_tree){
                .n_features = nf,
                .n_nodes = n,
                .nodes = ip->nodes,
                .path_length = ip->pl,
                .avg_path_length = ip->apl,
                .features = ip->features,
                .missing_go_to_left = ip->missing_left,
        };
        return 0;
}

static double number(const struct pv *v)
{
        return v->kind == PV_FLOAT ? v->u.f : (double)v->u.i;
}

static int build_iforest(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        const char *who = build_cls_name(obj);
        const struct pv *ests = NULL, *off = NULL, *ms = NULL;
        struct model_iforest_tree *trees = NULL;
        struct itree_parts *parts = NULL;
        int64_t nf = 0, max_features = 0;
        size_t n = 0;
        struct model_error me;
        int rc;
        if ((rc = build_attr_int(bc, obj, "n_features_in_", &nf)) < 0 ||
            (rc = build_attr_int(bc, obj, "_max_features", &max_features)) < 0 ||
            (rc = build_need_attr(bc, obj, "estimators_", &ests)) < 0 ||
            (rc = build_need_attr(bc, obj, "offset_", &off)) < 0)
                return rc;
        /* score_samples divides by the path length of max_samples_ in
         * 1.2 and of _max_samples in 1.4 and later; fit sets both to one
         * number, so a file where they differ has no one answer */
        ms = build_attr(bc, obj, "_max_samples");
        const struct pv *ms2 = build_attr(bc, obj, "max_samples_");
        if (ms && ms2 && !(ms->kind == ms2->kind &&
                           (ms->kind == PV_INT ? ms->u.i == ms2->u.i
                            : ms->kind == PV_FLOAT && ms->u.f == ms2->u.f)))
                return build_fail(bc, -EINVAL,
                                  "%s: _max_samples and max_samples_ differ (scikit-learn 1.2 "
                                  "scores with max_samples_, 1.4 and later with _max_samples): "
                                  "an inconsistent model",
                                  who);
        if (!ms)
                ms = ms2;
        if (!ms || (ms->kind != PV_INT && ms->kind != PV_FLOAT) ||
            (off->kind != PV_INT && off->kind != PV_FLOAT))
                return build_fail(bc, -EINVAL, "%s: expected numbers in _max_samples and "
                                  "offset_", who);
        if (nf <= 0 || ests->kind != PV_LIST || ests->u.seq.len == 0)
                return build_fail(bc, -EINVAL, "%s.estimators_: expected a non-empty list, "
                                  "found %s", who, pv_kind_name(ests));
        /* 1.4+ caches each node's path lengths; 1.2 computed them */
        const struct pv *dpl = build_attr(bc, obj, "_decision_path_lengths");
        const struct pv *apl = build_attr(bc, obj, "_average_path_length_per_tree");
        if (is_none(dpl) || is_none(apl))
                dpl = apl = NULL;
        size_t count = ests->u.seq.len;
        if ((rc = build_charge(bc, count * (sizeof(*trees) + sizeof(*parts)), who)) < 0)
                return rc;
        trees = calloc(count, sizeof(*trees));
        parts = calloc(count, sizeof(*parts));
        if (!trees || !parts) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu trees", count);
                goto out;
        }
        /* _compute_chunked_score_samples indexes columns only when the
         * members were fit on a subset */
        bool whole = max_features == nf;
        /* 1.9 scores NaN (its trees route it by missing_go_to_left); older
         * versions refuse it. When between 1.4 and 1.9 that changed is not
         * known here, so only 1.9+ files accept NaN. */
        bool nan_routed = !build_saved_before(bc, obj, 1, 9);
        for (; n < count; n++)
                if ((rc = read_itree(bc, who, obj, n, ests->u.seq.items[n], dpl, apl, whole,
                                     nan_routed, &trees[n], &parts[n])) < 0) {
                        n++; /* free its half-read parts too */
                        goto out;
                }
        rc = model_iforest_create((size_t)nf, trees, count, number(ms), number(off), out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        for (size_t i = 0; parts && i < n; i++)
                itree_parts_free(&parts[i]);
        free(parts);
        free(trees);
        return rc;
}

#define ENTRY(mod, cls, fn) { { mod, cls, ROLE_ESTIMATOR, cls }, fn }
#define HGB_MOD "sklearn.ensemble._hist_gradient_boosting"

/* The losses, links and Cython twins shared with gradient boosting are
 * listed in build_tree.c; those here only histogram boosting offers. */
const struct build_entry build_hist_entries[] = {
        ENTRY(HGB_MOD ".gradient_boosting", "HistGradientBoostingRegressor", build_hgbr),
        ENTRY(HGB_MOD ".gradient_boosting", "HistGradientBoostingClassifier", build_hgbc),
        ENTRY(HGB_MOD ".predictor", "TreePredictor", NULL),
        ENTRY(HGB_MOD ".binning", "_BinMapper", NULL),
        /* loss_ before 1.1 (read_old_loss) */
        ENTRY(HGB_OLD_LOSS_MOD, "LeastSquares", NULL),
        ENTRY(HGB_OLD_LOSS_MOD, "LeastAbsoluteDeviation", NULL),
        ENTRY(HGB_OLD_LOSS_MOD, "Poisson", NULL),
        ENTRY(HGB_OLD_LOSS_MOD, "BinaryCrossEntropy", NULL),
        ENTRY(HGB_OLD_LOSS_MOD, "CategoricalCrossEntropy", NULL),
        ENTRY("sklearn.ensemble._iforest", "IsolationForest", build_iforest),
        ENTRY("sklearn.ensemble.iforest", "IsolationForest", build_iforest), /* before 0.22 */
        /* (1.9 classifiers' _label_encoder, a LabelEncoder, is allowed by
         * the ensemble family's table) */
        /* the numerical part of _preprocessor (1.4+): only as partial.c
         * allows, never called */
        { { "functools", "partial", ROLE_PARTIAL, "functools.partial" }, NULL },
        { { "sklearn.utils.validation", "check_array", ROLE_CHECK_ARRAY, NULL }, NULL },
        ENTRY("sklearn._loss.loss", "HalfPoissonLoss", NULL),
        ENTRY("sklearn._loss.loss", "HalfGammaLoss", NULL),
        ENTRY("sklearn._loss.link", "LogLink", NULL),
        ENTRY("sklearn._loss._loss", "CyHalfPoissonLoss", NULL),
        ENTRY("sklearn._loss._loss", "__pyx_unpickle_CyHalfPoissonLoss", NULL),
        ENTRY("sklearn._loss._loss", "CyHalfGammaLoss", NULL),
        ENTRY("sklearn._loss._loss", "__pyx_unpickle_CyHalfGammaLoss", NULL),
        /* _feature_subsample_rng (1.4+): a numpy Generator, kept as inert
         * data and never needed for prediction */
        { { "numpy.random._pickle", "__generator_ctor", ROLE_INERT, NULL }, NULL },
        { { "numpy.random._pcg64", "PCG64", ROLE_INERT, NULL }, NULL },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
