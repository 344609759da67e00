/* build_kernel.c - builders for the kernel family: libsvm's SVC, NuSVC,
 * SVR, NuSVR and OneClassSVM. They read libsvm's own view of the model
 * (_dual_coef_, _intercept_, _n_support, _gamma, _probA, _probB), not the
 * public attributes scikit-learn sign-flips for binary classifiers, so
 * that model/ can compute exactly what libsvm computes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* Everything read from an SVM's state, freed together. */
struct svm_parts {
        double *sv, *dual, *icpt, *prob_a, *prob_b, *nsup_f;
        size_t *nsup;
        size_t n_sv, nf;
        struct build_labels labels;
};

static void svm_parts_free(struct svm_parts *p)
{
        free(p->sv);
        free(p->dual);
        free(p->icpt);
        free(p->prob_a);
        free(p->prob_b);
        free(p->nsup_f);
        free(p->nsup);
        build_labels_free(&p->labels);
}

/* A number attribute (Python float or int, or a numpy scalar). */
static int read_number(struct build_ctx *bc, const struct pv *obj, const char *name,
                       double *out)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        double x;
        if (v->kind == PV_FLOAT)
                x = v->u.f;
        else if (v->kind == PV_INT)
                x = (double)v->u.i;
        else if (v->kind == PV_BOOL)
                x = v->u.b ? 1.0 : 0.0;
        else
                return build_fail(bc, -EINVAL, "%s.%s: expected a number, found %s",
                                  build_cls_name(obj), name, pv_kind_name(v));
        if (!isfinite(x))
                return build_fail(bc, -EINVAL, "%s.%s is not a finite number",
                                  build_cls_name(obj), name);
        *out = x;
        return 0;
}

static int read_kernel(struct build_ctx *bc, const struct pv *obj,
                       enum model_svm_kernel *out)
{
        static const struct {
                const char *name;
                enum model_svm_kernel k;
        } kernels[] = {
                { "linear", MODEL_SVM_LINEAR },
                { "poly", MODEL_SVM_POLY },
                { "rbf", MODEL_SVM_RBF },
                { "sigmoid", MODEL_SVM_SIGMOID },
        };
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, "kernel", &v);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
                if (pv_is_str(v, kernels[i].name)) {
                        *out = kernels[i].k;
                        return 0;
                }
        }
        return build_fail(bc, -EINVAL,
                          "%s.kernel: expected 'linear', 'poly', 'rbf' or 'sigmoid', "
                          "found %s%s%.40s%s (precomputed and callable kernels are not "
                          "supported)", build_cls_name(obj), pv_kind_name(v),
                          v->kind == PV_STR ? " '" : "", v->kind == PV_STR ? v->u.s.data : "",
                          v->kind == PV_STR ? "'" : "");
}

/* Kernel parameters, support vectors and libsvm's coefficients, with
 * their shapes checked against each other: coef_rows x n_sv dual
 * coefficients and n_icpt intercepts. */
static int read_common(struct build_ctx *bc, const struct pv *obj,
                       struct model_svm_params *sp, struct svm_parts *p,
                       size_t coef_rows, size_t n_icpt)
{
        const char *who = build_cls_name(obj);
        size_t r = 0, c = 0;
        double degree = 0.0;
        int rc;
        if (build_attr_bool(bc, obj, "_sparse", false))
                return build_fail(bc, -EINVAL, "%s: fitted on sparse input (not supported)",
                                  who);
        if ((rc = read_kernel(bc, obj, &sp->kernel)) < 0 ||
            (rc = read_number(bc, obj, "_gamma", &sp->gamma)) < 0 ||
            (rc = read_number(bc, obj, "coef0", &sp->coef0)) < 0 ||
            (rc = read_number(bc, obj, "degree", &degree)) < 0)
                return rc;
        if (sp->kernel == MODEL_SVM_POLY &&
            (degree != floor(degree) || degree < 0 || degree > MODEL_SVM_MAX_DEGREE))
                return build_fail(bc, -EINVAL, "%s.degree: expected a whole number in 0..%d, "
                                  "found %g", who, MODEL_SVM_MAX_DEGREE, degree);
        sp->degree = sp->kernel == MODEL_SVM_POLY ? (int)degree : 0;
        if ((rc = build_attr_f64(bc, obj, "support_vectors_", 2, &p->sv, &p->n_sv,
                                 &p->nf)) < 0)
                return rc;
        if (p->nf == 0)
                return build_fail(bc, -EINVAL, "%s.support_vectors_: expected at least one "
                                  "feature, found none", who);
        if ((rc = build_check_n_features(bc, obj, p->nf)) < 0 ||
            (rc = build_charge(bc, p->n_sv * p->nf * sizeof(double), who)) < 0)
                return rc;
        if ((rc = build_attr_f64(bc, obj, "_dual_coef_", 2, &p->dual, &r, &c)) < 0)
                return rc;
        if (r != coef_rows || c != p->n_sv)
                return build_fail(bc, -EINVAL, "%s._dual_coef_: expected %zu x %zu, found "
                                  "%zu x %zu", who, coef_rows, p->n_sv, r, c);
        if ((rc = build_attr_f64(bc, obj, "_intercept_", 1, &p->icpt, &r, &c)) < 0)
                return rc;
        if (r != n_icpt)
                return build_fail(bc, -EINVAL, "%s._intercept_: expected %zu values, found %zu",
                                  who, n_icpt, r);
        sp->name = who;
        sp->n_sv = p->n_sv;
        sp->sv = p->sv;
        sp->dual_coef = p->dual;
        sp->intercept = p->icpt;
        return build_charge(bc, (coef_rows * p->n_sv + n_icpt) * sizeof(double), who);
}

/* _n_support (n_support_ before 0.23 kept it public): whole counts. */
static int read_n_support(struct build_ctx *bc, const struct pv *obj, size_t nc,
                          struct svm_parts *p)
{
        const char *who = build_cls_name(obj);
        const char *name = build_attr(bc, obj, "_n_support") ? "_n_support" : "n_support_";
        size_t n = 0, one = 0, total = 0;
        int rc = build_attr_f64(bc, obj, name, 1, &p->nsup_f, &n, &one);
        if (rc < 0)
                return rc;
        if (n != nc)
                return build_fail(bc, -EINVAL, "%s.%s: expected %zu counts, found %zu", who,
                                  name, nc, n);
        if (!(p->nsup = malloc(nc * sizeof(size_t))))
                return build_fail(bc, -ENOMEM, "out of memory reading %s", name);
        for (size_t i = 0; i < nc; i++) {
                double x = p->nsup_f[i];
                if (x < 0 || x != floor(x) || x > (double)p->n_sv)
                        return build_fail(bc, -EINVAL, "%s.%s[%zu]: expected a count of at "
                                          "most %zu, found %g", who, name, i, p->n_sv, x);
                p->nsup[i] = (size_t)x;
                total += p->nsup[i];
        }
        if (total != p->n_sv)
                return build_fail(bc, -EINVAL, "%s.%s: expected counts summing to the %zu "
                                  "support vectors, found %zu", who, name, p->n_sv, total);
        return 0;
}

/* probA/probB when predict_proba is available: probability is True (1.9
 * may hold the string 'deprecated') and libsvm fitted one pair per class
 * pair; an empty pair means it was not fitted. */
static int read_proba(struct build_ctx *bc, const struct pv *obj, size_t n_pairs,
                      struct model_svm_params *sp, struct svm_parts *p)
{
        const char *who = build_cls_name(obj);
        const struct pv *prob = build_attr(bc, obj, "probability");
        size_t na = 0, nb = 0, one = 0;
        int rc;
        if (!prob || prob->kind != PV_BOOL || !prob->u.b)
                return 0;
        const char *an = build_attr(bc, obj, "_probA") ? "_probA" : "probA_";
        const char *bn = build_attr(bc, obj, "_probB") ? "_probB" : "probB_";
        if ((rc = build_attr_f64(bc, obj, an, 1, &p->prob_a, &na, &one)) < 0 ||
            (rc = build_attr_f64(bc, obj, bn, 1, &p->prob_b, &nb, &one)) < 0)
                return rc;
        if (na == 0 || nb == 0)
                return 0;
        if (na != n_pairs || nb != n_pairs)
                return build_fail(bc, -EINVAL, "%s: expected %zu Platt parameters per "
                                  "array, found %zu and %zu", who, n_pairs, na, nb);
        sp->prob_a = p->prob_a;
        sp->prob_b = p->prob_b;
        return build_charge(bc, 2 * n_pairs * sizeof(double), who);
}

/* SVC and NuSVC. */
static int build_svc(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        struct svm_parts p = { 0 };
        struct model_svm_params sp = { .kind = MODEL_SVM_SVC };
        struct model_error me;
        const char *who = build_cls_name(obj);
        int rc;
        if ((rc = build_read_labels(bc, obj, &p.labels)) < 0)
                goto out;
        size_t nc = p.labels.n;
        if (nc < 2 || nc > 512) {
                rc = build_fail(bc, -EINVAL, "%s.classes_: expected 2 to 512 classes, found %zu",
                                who, nc);
                goto out;
        }
        size_t n_pairs = nc * (nc - 1) / 2;
        const struct pv *shape = build_attr(bc, obj, "decision_function_shape");
        if (pv_is_str(shape, "ovr")) {
                sp.ovr = true;
        } else if (!pv_is_str(shape, "ovo")) {
                rc = build_fail(bc, -EINVAL, "%s.decision_function_shape: expected 'ovr' or "
                                "'ovo', found %s", who, shape ? pv_kind_name(shape) : "nothing");
                goto out;
        }
        sp.break_ties = build_attr_bool(bc, obj, "break_ties", false);
        if ((rc = read_common(bc, obj, &sp, &p, nc - 1, n_pairs)) < 0 ||
            (rc = read_n_support(bc, obj, nc, &p)) < 0 ||
            (rc = read_proba(bc, obj, n_pairs, &sp, &p)) < 0 ||
            (rc = build_charge(bc, 2 * nc * nc * sizeof(double), who)) < 0)
                goto out;
        sp.n_support = p.nsup;
        rc = model_svm_create(&sp, p.nf, p.labels.v, nc, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        svm_parts_free(&p);
        return rc;
}

/* SVR, NuSVR and OneClassSVM: one row of coefficients, one intercept. */
static int build_one_output(struct build_ctx *bc, const struct pv *obj,
                            enum model_svm_kind kind, struct model **out)
{
        struct svm_parts p = { 0 };
        struct model_svm_params sp = { .kind = kind };
        struct model_error me;
        int rc = read_common(bc, obj, &sp, &p, 1, 1);
        if (rc < 0)
                goto out;
        rc = model_svm_create(&sp, p.nf, NULL, 0, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        svm_parts_free(&p);
        return rc;
}

static int build_svr(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_one_output(bc, obj, MODEL_SVM_SVR, out);
}

static int build_one_class(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_one_output(bc, obj, MODEL_SVM_ONE_CLASS, out);
}

#define ENTRY(module, name, fn) { { module, name, ROLE_ESTIMATOR, name }, fn }

/* Modules as the pickles of 1.2, 1.4 and 1.9 name them (pickletools),
 * and the public module before 0.22. */
const struct build_entry build_kernel_entries[] = {
        ENTRY("sklearn.svm._classes", "SVC", build_svc),
        ENTRY("sklearn.svm.classes", "SVC", build_svc),
        ENTRY("sklearn.svm._classes", "NuSVC", build_svc),
        ENTRY("sklearn.svm.classes", "NuSVC", build_svc),
        ENTRY("sklearn.svm._classes", "SVR", build_svr),
        ENTRY("sklearn.svm.classes", "SVR", build_svr),
        ENTRY("sklearn.svm._classes", "NuSVR", build_svr),
        ENTRY("sklearn.svm.classes", "NuSVR", build_svr),
        ENTRY("sklearn.svm._classes", "OneClassSVM", build_one_class),
        ENTRY("sklearn.svm.classes", "OneClassSVM", build_one_class),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
