/* allowlist.c - the only globals a model file may name. Each is an exact
 * (module, qualified name) pair mapped to a native meaning; the reader
 * never imports or calls anything. A dotted name ("getattr.__self__") is
 * its own pair and matches nothing here. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "build_internal.h"

/* Python's and numpy's names here; scikit-learn's classes are listed by
 * their builders (build_*.c). scikit-learn moved its modules to private
 * names in 0.22; the builders list the public ones too, for older files. */
static const struct pv_class allowlist[] = {
        /* numpy (1.x writes numpy.core, 2.x numpy._core) */
        { "numpy", "ndarray", ROLE_NDARRAY, NULL },
        { "numpy", "dtype", ROLE_DTYPE, NULL },
        { "numpy.core.multiarray", "_reconstruct", ROLE_RECONSTRUCT, NULL },
        { "numpy._core.multiarray", "_reconstruct", ROLE_RECONSTRUCT, NULL },
        { "numpy.core.multiarray", "scalar", ROLE_SCALAR, NULL },
        { "numpy._core.multiarray", "scalar", ROLE_SCALAR, NULL },
        { "numpy.core.numeric", "_frombuffer", ROLE_FROMBUFFER, NULL },
        { "numpy._core.numeric", "_frombuffer", ROLE_FROMBUFFER, NULL },
        /* random_state of trees in gradient boosting (a RandomState
         * instance): kept as inert data, never needed for prediction */
        { "numpy.random._pickle", "__randomstate_ctor", ROLE_INERT, NULL },
        { "numpy.random._pickle", "__bit_generator_ctor", ROLE_INERT, NULL },
        { "numpy.random._mt19937", "MT19937", ROLE_INERT, NULL },
        { "numpy.random.bit_generator", "SeedSequence", ROLE_INERT, NULL },
        { "numpy.random.bit_generator", "__pyx_unpickle_SeedSequence", ROLE_INERT, NULL },
        /* Python's own plumbing for bytes, plain objects, sets, dates */
        { "_codecs", "encode", ROLE_CODECS_ENCODE, NULL },
        { "__builtin__", "bytes", ROLE_BYTES, NULL },
        { "builtins", "bytes", ROLE_BYTES, NULL },
        { "copy_reg", "_reconstructor", ROLE_RECONSTRUCTOR, NULL },
        { "copyreg", "_reconstructor", ROLE_RECONSTRUCTOR, NULL },
        { "__builtin__", "object", ROLE_OBJECT, NULL },
        { "builtins", "object", ROLE_OBJECT, NULL },
        { "__builtin__", "set", ROLE_SET, NULL },
        { "builtins", "set", ROLE_SET, NULL },
        { "__builtin__", "frozenset", ROLE_SET, NULL },
        { "builtins", "frozenset", ROLE_SET, NULL },
        { "datetime", "datetime", ROLE_DATETIME, NULL },
        { "datetime", "date", ROLE_DATE, NULL },
        /* joblib */
        { "joblib.numpy_pickle", "NumpyArrayWrapper", ROLE_JOBLIB_WRAPPER, NULL },
        { "sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper",
          ROLE_JOBLIB_WRAPPER, NULL },
};

/* scikit-learn's meson-built wheels 1.5.0-1.7.x give the Cython loss
 * classes __module__ == '_loss' (scikit-learn PR #33770, issue #30062), so
 * their pickles name "_loss.CyHalfBinomialLoss" where the right name is
 * "sklearn._loss._loss.CyHalfBinomialLoss". The module "_loss", exactly,
 * stands for that one module: a pair is accepted when its twin under
 * sklearn._loss._loss is, and means what the twin means. */
static const char meson_loss_module[] = "_loss";
static const char loss_module[] = "sklearn._loss._loss";

const struct pv_class *allowlist_find(const char *module, size_t module_len,
                                      const char *name, size_t name_len)
{
        if (module_len == sizeof(meson_loss_module) - 1 &&
            memcmp(module, meson_loss_module, module_len) == 0) {
                module = loss_module;
                module_len = sizeof(loss_module) - 1;
        }
        /* scikit-learn classes are allowed exactly when they have a builder */
        const struct build_entry *e = build_find(module, module_len, name, name_len);
        if (e)
                return &e->cls;
        for (size_t i = 0; i < sizeof(allowlist) / sizeof(allowlist[0]); i++) {
                const struct pv_class *c = &allowlist[i];
                if (strlen(c->module) == module_len &&
                    memcmp(c->module, module, module_len) == 0 &&
                    strlen(c->name) == name_len &&
                    memcmp(c->name, name, name_len) == 0)
                        return c;
        }
        return NULL;
}

/* Frameworks whose objects users often save beside or inside scikit-learn
 * ones: named plainly, so that a refusal says what the file is. */
static const struct {
        const char *module; /* the top-level package */
        const char *what;
} foreign[] = {
        { "xgboost", "an XGBoost model, not scikit-learn" },
        { "lightgbm", "a LightGBM model, not scikit-learn" },
        { "catboost", "a CatBoost model, not scikit-learn" },
        { "keras", "a Keras model, not scikit-learn" },
        { "tf_keras", "a Keras model, not scikit-learn" },
        { "tensorflow", "a TensorFlow model, not scikit-learn" },
        { "torch", "a PyTorch model, not scikit-learn" },
        { "statsmodels", "a statsmodels model, not scikit-learn" },
        /* imbalanced-learn's Pipeline and samplers are served
         * (build_imblearn.c); its other objects are not */
        { "imblearn", "an imbalanced-learn object that predictd does not serve (of "
                      "imbalanced-learn it serves the Pipeline, with its samplers)" },
};

/* Modules of Python itself and of the libraries a model file legitimately
 * names: a refused global from one of them is not the user's own code. */
static const char *const known_modules[] = {
        "builtins", "__builtin__", "os", "posix", "nt", "sys", "subprocess", "pickle",
        "_pickle", "copyreg", "copy_reg", "runpy", "pip", "bdb", "pdb", "code", "codeop",
        "socket", "http", "urllib", "urllib2", "ftplib", "smtplib", "telnetlib", "ctypes",
        "shutil", "importlib", "types", "functools", "operator", "io", "pty", "webbrowser",
        "commands", "platform", "timeit", "asyncio", "multiprocessing", "threading", "signal",
        "tempfile", "glob", "marshal", "shelve", "zipimport", "_codecs", "codecs", "datetime",
        "collections", "itertools", "inspect", "gc", "site", "sysconfig", "venv", "ensurepip",
        "distutils", "setuptools", "pkg_resources", "requests", "numpy", "scipy", "pandas",
        "joblib", "sklearn", "cloudpickle", "dill", "_io", "_thread", "_posixsubprocess",
        "_operator", "_functools", "getattr", "eval", "exec",
};

/* scikit-learn classes refused for a reason a user can act on: estimators
 * that scikit-learn itself cannot apply to new rows, and the kinds of
 * input predictd does not take. Matched by class name, any module. */
#define NO_PREDICT(cls, what)                                                 \
        { cls, "scikit-learn's " cls " has no " what ", so there is nothing to serve" }
#define TEXT(cls) { cls, "text vectorizers (raw strings in, sparse counts out) are not " \
                         "served yet" }
static const struct {
        const char *name;
        const char *why;
} sklearn_reasons[] = {
        NO_PREDICT("DBSCAN", "predict or transform (fit_predict labels only its training "
                             "rows)"),
        NO_PREDICT("HDBSCAN", "predict or transform (fit_predict labels only its training "
                              "rows)"),
        NO_PREDICT("OPTICS", "predict or transform (fit_predict labels only its training "
                             "rows)"),
        NO_PREDICT("AgglomerativeClustering", "predict or transform"),
        NO_PREDICT("SpectralClustering", "predict or transform"),
        NO_PREDICT("TSNE", "transform for new rows"),
        TEXT("TfidfVectorizer"),
        TEXT("CountVectorizer"),
        TEXT("HashingVectorizer"),
        TEXT("TfidfTransformer"),
};
#undef NO_PREDICT
#undef TEXT

void allowlist_explain_sklearn(const char *name, size_t name_len, char *buf, size_t len)
{
        for (size_t i = 0; i < sizeof(sklearn_reasons) / sizeof(sklearn_reasons[0]); i++)
                if (strlen(sklearn_reasons[i].name) == name_len &&
                    memcmp(sklearn_reasons[i].name, name, name_len) == 0) {
                        snprintf(buf, len, "%s", sklearn_reasons[i].why);
                        return;
                }
        snprintf(buf, len, "this scikit-learn class is not supported by predictd");
}

void allowlist_explain(const char *module, size_t module_len, char *buf, size_t len)
{
        size_t top = 0;
        while (top < module_len && module[top] != '.')
                top++;
        for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
                if (strlen(foreign[i].module) == top && memcmp(foreign[i].module, module, top) == 0) {
                        snprintf(buf, len, "%s%s", foreign[i].what,
                                 strstr(foreign[i].what, "not scikit-learn")
                                         ? ": predictd serves scikit-learn estimators only"
                                         : "");
                        return;
                }
        }
        bool known = false;
        for (size_t i = 0; i < sizeof(known_modules) / sizeof(known_modules[0]); i++)
                known |= strlen(known_modules[i]) == top &&
                         memcmp(known_modules[i], module, top) == 0;
        if (!known && top > 0) {
                snprintf(buf, len,
                         "the file needs code from the project that saved it (module '%.*s'), "
                         "which predictd never runs: save the scikit-learn estimator without "
                         "your own classes or functions",
                         (int)(top > 100 ? 100 : top), module);
                return;
        }
        snprintf(buf, len, "not on the allowlist of numpy, joblib and scikit-learn names "
                           "(nothing in a model file is ever executed)");
}
