/* cluster.c - KMeans and MiniBatchKMeans at predict time: the nearest
 * centre of each row (predict) and the euclidean distance to every centre
 * (transform). Both are computed in the order scikit-learn computes them,
 * because a row halfway between two centres gets its label from the last
 * bits of the arithmetic:
 * - predict is lloyd_iter_chunked_dense without the update: per row and
 *   centre, ||c||^2 + (-2) * (x . c) as the reference BLAS dgemm rounds it
 *   (the dot product summed in feature order, then alpha * dot + beta *
 *   ||c||^2 with beta = 1), and the first centre with the smallest value;
 * - transform is euclidean_distances: sqrt(max((-2 (x . c) + ||x||^2) +
 *   ||c||^2, 0)), numpy adding the two norm terms one after the other;
 * - every squared norm is row_norms' np.einsum("ij,ij->i"), whose
 *   rounding model_einsum_sumsq reproduces. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct kmeans {
        struct model base;
        struct model_ops ops; /* ops.name is the model's class */
        char name[24];
        size_t k;
        double *centers;    /* k x n_features */
        double *center_sq;  /* k: row_norms(centers, squared=True) */
};

/* x . c summed in feature order: reference BLAS's TEMP = TEMP + A*B. */
static double kmeans_dot(const double *x, const double *c, size_t nf)
{
        double acc = 0.0;
        for (size_t j = 0; j < nf; j++)
                acc += c[j] * x[j];
        return acc;
}

static int kmeans_classify(const struct model *m, const double *X, size_t rows,
                           size_t *class_idx, double *proba, struct model_error *err)
{
        const struct kmeans *km = (const struct kmeans *)m;
        size_t nf = m->n_features;
        (void)proba;
        (void)err;
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * nf;
                size_t best = 0;
                double best_d = 0.0;
                for (size_t j = 0; j < km->k; j++) {
                        double d = -2.0 * kmeans_dot(x, km->centers + j * nf, nf) +
                                   km->center_sq[j];
                        if (j == 0 || d < best_d) {
                                best_d = d;
                                best = j;
                        }
                }
                class_idx[r] = best;
        }
        return 0;
}

static int kmeans_transform(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        const struct kmeans *km = (const struct kmeans *)m;
        size_t nf = m->n_features;
        (void)err;
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * nf;
                double xx = model_einsum_sumsq(x, nf);
                for (size_t j = 0; j < km->k; j++) {
                        double d = -2.0 * kmeans_dot(x, km->centers + j * nf, nf);
                        d += xx;
                        d += km->center_sq[j];
                        out[r * km->k + j] = sqrt(d > 0.0 ? d : 0.0);
                }
        }
        return 0;
}

static void kmeans_describe(const struct model *m, char *buf, size_t len)
{
        const struct kmeans *km = (const struct kmeans *)m;
        snprintf(buf, len, "%s[%zu clusters, %zu features]", km->name, km->k, m->n_features);
}

static void kmeans_destroy(struct model *m)
{
        struct kmeans *km = (struct kmeans *)m;
        model_base_release(m);
        free(km->centers);
        free(km->center_sq);
        free(km);
}

int model_kmeans_create(const char *name, size_t n_features, size_t n_clusters,
                        const double *centers, struct model **out,
                        struct model_error *err)
{
        struct kmeans *km = NULL;
        struct model_label *labels = NULL;
        int rc = -EINVAL;
        if (strcmp(name, "KMeans") != 0 && strcmp(name, "MiniBatchKMeans") != 0) {
                model_set_error(err, "k-means: expected KMeans or MiniBatchKMeans, found '%.60s'",
                                name);
                return -EINVAL;
        }
        if (n_features == 0 || n_clusters == 0 ||
            n_clusters > SIZE_MAX / sizeof(double) / n_features) {
                model_set_error(err, "%s: expected cluster_centers_ of at least 1 x 1, "
                                "found %zu x %zu", name, n_clusters, n_features);
                return -EINVAL;
        }
        for (size_t i = 0; i < n_clusters * n_features; i++) {
                if (!isfinite(centers[i])) {
                        model_set_error(err, "%s: cluster_centers_[%zu][%zu] is not finite",
                                        name, i / n_features, i % n_features);
                        return -EINVAL;
                }
        }
        km = calloc(1, sizeof(*km));
        labels = calloc(n_clusters, sizeof(*labels));
        if (!km || !labels)
                goto nomem;
        snprintf(km->name, sizeof(km->name), "%s", name);
        km->ops.name = km->name;
        km->ops.classify = kmeans_classify;
        km->ops.transform = kmeans_transform;
        km->ops.describe = kmeans_describe;
        km->ops.destroy = kmeans_destroy;
        km->base.ops = &km->ops;
        km->k = n_clusters;
        km->centers = malloc(n_clusters * n_features * sizeof(double));
        km->center_sq = malloc(n_clusters * sizeof(double));
        if (!km->centers || !km->center_sq)
                goto nomem;
        memcpy(km->centers, centers, n_clusters * n_features * sizeof(double));
        for (size_t j = 0; j < n_clusters; j++)
                km->center_sq[j] = model_einsum_sumsq(centers + j * n_features, n_features);
        /* predict's labels are the cluster indices, ints as numpy gives them */
        for (size_t j = 0; j < n_clusters; j++) {
                labels[j].type = MODEL_LABEL_INT;
                labels[j].v.i = (int64_t)j;
        }
        rc = model_base_init(&km->base, &km->ops, MODEL_TYPE_CLASSIFIER, n_features, labels,
                             n_clusters, err);
        if (rc < 0)
                goto fail;
        km->base.n_out = n_clusters;
        free(labels);
        *out = &km->base;
        return 0;
nomem:
        rc = -ENOMEM;
        model_set_error(err, "%s: out of memory", name);
fail:
        free(labels);
        if (km)
                kmeans_destroy(&km->base);
        return rc;
}
