/* knn_tree.c - scikit-learn's KD tree and ball tree searches, replayed
 * over the tree a KNeighbors model was pickled with.
 *
 * Which of several samples at exactly the same distance a k-nearest query
 * keeps is decided by the order the tree visits its leaves and by the
 * bounded max-heap the neighbours are collected in: a sample replaces the
 * heap's largest only when strictly nearer. Both are reproduced here from
 * the tree's own arrays (idx_array, node_data, node_bounds), so ties come
 * out as scikit-learn's do. Distances are summed in feature order, as
 * scikit-learn's rdist does. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knn_tree.h"

struct knn_tree {
        bool ball;
        int p;
        size_t nf, n_nodes;
        size_t *idx, *start, *end;
        bool *leaf;
        double *radius;
        double *bounds; /* KD: lower then upper, each n_nodes x nf; ball: centroids */
};

void knn_tree_free(struct knn_tree *t)
{
        if (!t)
                return;
        free(t->idx);
        free(t->start);
        free(t->end);
        free(t->leaf);
        free(t->radius);
        free(t->bounds);
        free(t);
}

int knn_tree_copy(const struct model_knn_tree *src, size_t n, size_t nf, int p,
                  struct knn_tree **out, struct model_error *err)
{
        size_t nn = src->n_nodes, nb = src->ball ? 1 : 2;
        if (nn == 0 || nn > SIZE_MAX / 2 - 2 || nf > SIZE_MAX / sizeof(double) / nn / nb) {
                model_set_error(err, "KNeighbors tree: expected at least 1 node, found %zu", nn);
                return -EINVAL;
        }
        struct knn_tree *t = calloc(1, sizeof(*t));
        if (!t)
                goto nomem;
        t->ball = src->ball;
        t->p = p;
        t->nf = nf;
        t->n_nodes = nn;
        t->idx = malloc(n * sizeof(size_t));
        t->start = malloc(nn * sizeof(size_t));
        t->end = malloc(nn * sizeof(size_t));
        t->leaf = malloc(nn * sizeof(bool));
        t->radius = malloc(nn * sizeof(double));
        t->bounds = malloc(nb * nn * nf * sizeof(double));
        bool *seen = calloc(n, sizeof(bool));
        if (!t->idx || !t->start || !t->end || !t->leaf || !t->radius || !t->bounds || !seen) {
                free(seen);
                knn_tree_free(t);
                goto nomem;
        }
        memcpy(t->bounds, src->bounds, nb * nn * nf * sizeof(double));
        /* idx_array: a permutation of the samples */
        for (size_t i = 0; i < n; i++) {
                int64_t v = src->idx[i];
                if (v < 0 || (uint64_t)v >= n || seen[v]) {
                        free(seen);
                        knn_tree_free(t);
                        model_set_error(err, "KNeighbors tree: idx_array[%zu] is %lld, expected "
                                        "each sample 0..%zu once", i, (long long)v, n - 1);
                        return -EINVAL;
                }
                seen[v] = true;
                t->idx[i] = (size_t)v;
        }
        free(seen);
        /* nodes: the root holds every sample and an inner node's two
         * children split its range, so a query reads each sample once */
        for (size_t i = 0; i < nn; i++) {
                int64_t s = src->start[i], e = src->end[i];
                bool ok = s >= 0 && e >= s && (uint64_t)e <= n;
                if (ok && i == 0)
                        ok = s == 0 && (uint64_t)e == n;
                if (ok && !src->leaf[i]) {
                        size_t c1 = 2 * i + 1, c2 = c1 + 1;
                        ok = c2 < nn && src->start[c1] == s && src->end[c1] == src->start[c2] &&
                             src->end[c2] == e;
                }
                if (!ok) {
                        model_set_error(err, "KNeighbors tree: node %zu covers samples %lld..%lld, "
                                        "which is not a split of its parent's", i, (long long)s,
                                        (long long)e);
                        knn_tree_free(t);
                        return -EINVAL;
                }
                t->start[i] = (size_t)s;
                t->end[i] = (size_t)e;
                t->leaf[i] = src->leaf[i];
                t->radius[i] = src->radius ? src->radius[i] : 0.0;
        }
        *out = t;
        return 0;
nomem:
        model_set_error(err, "KNeighbors tree: out of memory");
        return -ENOMEM;
}

static double rdist(const double *x, const double *f, size_t nf, int p)
{
        double s = 0.0;
        for (size_t j = 0; j < nf; j++) {
                double d = x[j] - f[j];
                s += p == 1 ? fabs(d) : d * d;
        }
        return s;
}

/* The least reduced distance from x to any point of node i. */
static double min_rdist(const struct knn_tree *t, size_t i, const double *x)
{
        size_t nf = t->nf;
        if (t->ball) {
                double d = rdist(x, t->bounds + i * nf, nf, t->p);
                if (t->p == 2)
                        d = sqrt(d);
                d = fmax(0.0, d - t->radius[i]);
                return t->p == 2 ? d * d : d;
        }
        const double *lo = t->bounds + i * nf, *hi = t->bounds + (t->n_nodes + i) * nf;
        double s = 0.0;
        for (size_t j = 0; j < nf; j++) {
                double dl = lo[j] - x[j], dh = x[j] - hi[j];
                double d = 0.5 * ((dl + fabs(dl)) + (dh + fabs(dh)));
                s += t->p == 1 ? d : d * d;
        }
        return s;
}

/* scikit-learn's heap_push: the root holds the largest; a value replaces
 * it only when strictly smaller, then sinks. */
static void heap_push(double *hd, size_t *hi, size_t k, double v, size_t idx)
{
        if (!(v < hd[0]))
                return;
        size_t cur = 0;
        for (;;) {
                size_t l = 2 * cur + 1, r = l + 1, sw;
                if (l >= k)
                        break;
                if (r >= k) {
                        if (hd[l] > v)
                                sw = l;
                        else
                                break;
                } else if (hd[l] >= hd[r]) {
                        if (v < hd[l])
                                sw = l;
                        else
                                break;
                } else {
                        if (v < hd[r])
                                sw = r;
                        else
                                break;
                }
                hd[cur] = hd[sw];
                hi[cur] = hi[sw];
                cur = sw;
        }
        hd[cur] = v;
        hi[cur] = idx;
}

struct query {
        const struct knn_tree *t;
        const double *fit_x, *x;
        size_t k;
        double *hd;
        size_t *hi;
};

/* Depth-first, nearer child first; a node no nearer than the heap's
 * largest is skipped. Children are 2i+1 and 2i+2, so the depth is the
 * tree's level count. */
static void visit(const struct query *q, size_t i, double lb)
{
        const struct knn_tree *t = q->t;
        if (lb > q->hd[0])
                return;
        if (t->leaf[i]) {
                for (size_t j = t->start[i]; j < t->end[i]; j++) {
                        size_t s = t->idx[j];
                        heap_push(q->hd, q->hi, q->k, rdist(q->x, q->fit_x + s * t->nf, t->nf, t->p),
                                  s);
                }
                return;
        }
        size_t c1 = 2 * i + 1, c2 = c1 + 1;
        double l1 = min_rdist(t, c1, q->x), l2 = min_rdist(t, c2, q->x);
        if (l1 <= l2) {
                visit(q, c1, l1);
                visit(q, c2, l2);
        } else {
                visit(q, c2, l2);
                visit(q, c1, l1);
        }
}

void knn_tree_query(const struct knn_tree *t, const double *fit_x, const double *x, size_t k,
                    double *hd, size_t *hi)
{
        for (size_t i = 0; i < k; i++) {
                hd[i] = INFINITY;
                hi[i] = 0;
        }
        struct query q = { t, fit_x, x, k, hd, hi };
        visit(&q, 0, min_rdist(t, 0, x));
}
