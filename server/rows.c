/* rows.c - one model call over a request's rows, shared out to the
 * compute threads that are idle when the batch is large.
 *
 * Every row is computed on its own (no model sums across rows), so cutting
 * a batch into contiguous ranges and computing them on several threads
 * gives the same bytes as one call. A range that fails (input the model
 * refuses) makes the whole call run again on this thread alone, so that
 * the error is the first one, with the row numbers of one call. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "server_internal.h"

/* Batches of fewer rows run as one call; larger ones are cut into ranges
 * of at least ROWS_RANGE_MIN rows, about four per worker, so that a thread
 * that joins late or leaves early (a request was queued) costs little. */
#define ROWS_SHARE_MIN 1024
#define ROWS_RANGE_MIN 256

struct rows_job {
        const struct served_model *sm;
        enum rows_op op;
        const double *X;
        size_t rows, per, nf, w_idx, w_out;
        size_t *idx;
        double *out;
        atomic_bool failed;
};

static int call(const struct served_model *sm, enum rows_op op, const double *X, size_t rows,
                size_t *idx, double *out, struct model_error *me)
{
        switch (op) {
        case ROWS_CLASSIFY:
                return predict_classify(sm, X, rows, idx, out, me);
        case ROWS_VALUES:
                return model_predict_values(sm->model, X, rows, out, me);
        case ROWS_DECISION:
                return model_decision_function(sm->model, X, rows, out, me);
        case ROWS_SCORE:
                return model_score_samples(sm->model, X, rows, out, me);
        case ROWS_TRANSFORM:
                return model_transform(sm->model, X, rows, out, me);
        }
        return -EINVAL;
}

static void range(void *ctx, size_t i)
{
        struct rows_job *j = ctx;
        if (atomic_load_explicit(&j->failed, memory_order_relaxed))
                return;
        size_t r0 = i * j->per, n = j->rows - r0 < j->per ? j->rows - r0 : j->per;
        struct model_error me = { .column = MODEL_NO_COLUMN };
        if (call(j->sm, j->op, j->X + r0 * j->nf, n, j->idx ? j->idx + r0 * j->w_idx : NULL,
                 j->out ? j->out + r0 * j->w_out : NULL, &me) < 0)
                atomic_store_explicit(&j->failed, true, memory_order_relaxed);
}

/* Columns of out per row for op, or 0 when not known here. */
static size_t out_width(const struct served_model *sm, enum rows_op op)
{
        switch (op) {
        case ROWS_CLASSIFY:
                return sm->n_classes;
        case ROWS_VALUES:
                return sm->n_outputs;
        case ROWS_DECISION:
                return model_decision_width(sm->model);
        case ROWS_SCORE:
                return 1;
        case ROWS_TRANSFORM:
                return model_transform_width(sm->model);
        }
        return 0;
}

int rows_compute(struct pool *p, const struct served_model *sm, enum rows_op op,
                 const double *X, size_t rows, size_t *idx, double *out,
                 struct model_error *me)
{
        size_t workers = pool_threads(p), w_out = out_width(sm, op);
        if (!pool_can_share(p) || rows < ROWS_SHARE_MIN || (out && !w_out) ||
            (op == ROWS_CLASSIFY && !idx))
                return call(sm, op, X, rows, idx, out, me);
        size_t per = (rows + 4 * workers - 1) / (4 * workers);
        if (per < ROWS_RANGE_MIN)
                per = ROWS_RANGE_MIN;
        struct rows_job j = {
                .sm = sm, .op = op, .X = X, .rows = rows, .per = per,
                .nf = sm->n_features,
                .w_idx = sm->n_class_outputs ? sm->n_class_outputs : 1,
                .w_out = w_out, .idx = idx, .out = out,
        };
        atomic_init(&j.failed, false);
        pool_share(p, (rows + per - 1) / per, range, &j);
        if (!atomic_load_explicit(&j.failed, memory_order_relaxed))
                return 0;
        return call(sm, op, X, rows, idx, out, me);
}
