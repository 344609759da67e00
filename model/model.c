/* model.c - what every estimator shares: the class labels, the public
 * accessors and the dispatch from the public API to each estimator's ops. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

void model_set_error(struct model_error *err, const char *fmt, ...)
{
        if (!err)
                return;
        va_list ap;
        err->column = MODEL_NO_COLUMN;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
}

const char *model_ordinal(size_t n, char buf[MODEL_ORDINAL_SIZE])
{
        /* 11th, 12th and 13th (and 111th, 212th, ...) break the rule */
        const char *suffix = "th";
        if (n % 100 < 11 || n % 100 > 13) {
                if (n % 10 == 1)
                        suffix = "st";
                else if (n % 10 == 2)
                        suffix = "nd";
                else if (n % 10 == 3)
                        suffix = "rd";
        }
        snprintf(buf, MODEL_ORDINAL_SIZE, "%zu%s", n, suffix);
        return buf;
}

bool model_label_equal(const struct model_label *a, const struct model_label *b)
{
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case MODEL_LABEL_INT:
                return a->v.i == b->v.i;
        case MODEL_LABEL_UINT:
                return a->v.u == b->v.u;
        case MODEL_LABEL_FLOAT:
                return a->v.f == b->v.f;
        case MODEL_LABEL_BOOL:
                return a->v.b == b->v.b;
        case MODEL_LABEL_STR:
                return strcmp(a->v.s, b->v.s) == 0;
        }
        return false;
}

int model_base_init(struct model *m, const struct model_ops *ops,
                    enum model_type type, size_t n_features,
                    const struct model_label *classes, size_t n_classes,
                    struct model_error *err)
{
        m->ops = ops;
        m->type = type;
        m->n_features = n_features;
        m->classes = NULL;
        m->n_classes = 0;
        if (n_classes == 0)
                return 0;
        m->classes = calloc(n_classes, sizeof(*m->classes));
        if (!m->classes)
                goto nomem;
        m->n_classes = n_classes;
        for (size_t i = 0; i < n_classes; i++) {
                m->classes[i] = classes[i];
                if (classes[i].type == MODEL_LABEL_STR) {
                        m->classes[i].v.s = strdup(classes[i].v.s);
                        if (!m->classes[i].v.s) {
                                /* release frees only what was copied */
                                m->n_classes = i;
                                goto nomem;
                        }
                }
        }
        return 0;
nomem:
        model_base_release(m);
        model_set_error(err, "out of memory copying %zu class labels", n_classes);
        return -ENOMEM;
}

void model_base_release(struct model *m)
{
        free(m->in_kinds);
        free(m->out_kinds);
        m->in_kinds = m->out_kinds = NULL;
        model_strings_free(m->strings);
        m->strings = NULL;
        if (!m->classes)
                return;
        for (size_t i = 0; i < m->n_classes; i++)
                if (m->classes[i].type == MODEL_LABEL_STR)
                        free((char *)m->classes[i].v.s);
        free(m->classes);
        m->classes = NULL;
        m->n_classes = 0;
}

void model_free(struct model *m)
{
        if (!m)
                return;
        if (m->ops && m->ops->destroy)
                m->ops->destroy(m);
        else
                free(m);
}

enum model_type model_get_type(const struct model *m)
{
        return m->type;
}

size_t model_n_features(const struct model *m)
{
        return m->n_features;
}

size_t model_n_classes(const struct model *m)
{
        return m->n_classes;
}

const struct model_label *model_class_label(const struct model *m, size_t i)
{
        return i < m->n_classes ? &m->classes[i] : NULL;
}

bool model_has_proba(const struct model *m)
{
        return m->has_proba;
}

bool model_has_score_samples(const struct model *m)
{
        return m->ops->score && m->has_score;
}

bool model_accepts_nan(const struct model *m)
{
        return m->accepts_nan;
}

void model_describe(const struct model *m, char *buf, size_t len)
{
        if (len == 0)
                return;
        if (m->ops->describe)
                m->ops->describe(m, buf, len);
        else
                snprintf(buf, len, "%s", m->ops->name);
}

size_t model_n_outputs(const struct model *m)
{
        return m->type == MODEL_TYPE_REGRESSOR ? m->n_outputs : 0;
}

bool model_outputs_2d(const struct model *m)
{
        return m->type == MODEL_TYPE_REGRESSOR && (m->outputs_2d || m->n_outputs > 1);
}

void model_set_outputs_2d(struct model *m, bool on)
{
        if (m->type == MODEL_TYPE_REGRESSOR)
                m->outputs_2d = on;
}

size_t model_decision_width(const struct model *m)
{
        return m->ops->decision ? m->decision_width : 0;
}

size_t model_transform_width(const struct model *m)
{
        /* ensembles also predict yet transform (VotingClassifier) */
        return m->ops->transform && (m->type == MODEL_TYPE_TRANSFORMER || m->n_out)
                       ? m->n_out
                       : 0;
}

int model_predict_values(const struct model *m, const double *X, size_t rows,
                         double *out, struct model_error *err)
{
        if (m->type != MODEL_TYPE_REGRESSOR || !m->ops->regress) {
                model_set_error(err, "%s is not a regressor", m->ops->name);
                return -ENOTSUP;
        }
        return m->ops->regress(m, X, rows, out, err);
}

int model_decision_function(const struct model *m, const double *X,
                            size_t rows, double *out, struct model_error *err)
{
        if (!m->ops->decision || !m->decision_width) {
                model_set_error(err, "%s has no decision_function", m->ops->name);
                return -ENOTSUP;
        }
        return m->ops->decision(m, X, rows, out, err);
}

int model_score_samples(const struct model *m, const double *X, size_t rows,
                        double *out, struct model_error *err)
{
        if (!model_has_score_samples(m)) {
                model_set_error(err, "%s has no score_samples", m->ops->name);
                return -ENOTSUP;
        }
        return m->ops->score(m, X, rows, out, err);
}

int model_transform(const struct model *m, const double *X, size_t rows,
                    double *out, struct model_error *err)
{
        if (!model_transform_width(m)) {
                model_set_error(err, "%s has no transform", m->ops->name);
                return -ENOTSUP;
        }
        return m->ops->transform(m, X, rows, out, err);
}

int model_predict(const struct model *m, const double *X, size_t rows,
                  size_t *class_idx, double *proba, struct model_error *err)
{
        if (m->type != MODEL_TYPE_CLASSIFIER || !m->ops->classify) {
                model_set_error(err, "%s is not a classifier: it has no predict",
                                m->ops->name);
                return -ENOTSUP;
        }
        if (!m->has_proba)
                proba = NULL;
        return m->ops->classify(m, X, rows, class_idx, proba, err);
}

size_t model_n_class_outputs(const struct model *m)
{
        return m->type == MODEL_TYPE_MULTI_CLASSIFIER ? m->n_class_outputs : 0;
}

const struct model *model_output_classes(const struct model *m, size_t j)
{
        return j < model_n_class_outputs(m) ? m->class_outs[j] : NULL;
}

int model_predict_output(const struct model *m, size_t j, const double *X, size_t rows,
                         size_t *class_idx, double *proba, struct model_error *err)
{
        if (j >= model_n_class_outputs(m) || !m->ops->classify_output) {
                model_set_error(err, "%s has no output %zu", m->ops->name, j);
                return -ENOTSUP;
        }
        if (!m->has_proba)
                proba = NULL;
        return m->ops->classify_output(m, j, X, rows, class_idx, proba, err);
}
