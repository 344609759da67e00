"""The code predictd runs where the CPU has no AVX2 (GaussianNB's
distances, MLP layers, GradientBoosting's float32 lanes, and
HistGradientBoosting going back to the bit vectors): predictd and
scikit-learn both run under QEMU's user-mode emulation of a Nehalem,
which has neither AVX2 nor FMA, and their answers must agree bit for bit.
scikit-learn runs there too because glibc's exp and log pick FMA code on
CPUs that have it, and may then differ from their SSE2 code in a last
bit; what must hold is agreement on the same CPU. (Under OpenBLAS,
which picks its kernels by CPU as well, the MLPs are held to the other
MLP tests' tolerance, and an MLP's plain code to its AVX2 code's bits.)
Skipped where qemu-x86_64 is not installed (scripts/install-deps.sh
installs it), off x86-64, and for sanitizer builds."""
import json
import os
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier, MLPRegressor

import conftest
from conftest import BIN, save_model

QEMU = shutil.which("qemu-x86_64")
CPU = "Nehalem"
pytestmark = [
    pytest.mark.skipif(platform.machine() != "x86_64" or not QEMU,
                       reason="needs qemu-x86_64 (Debian's qemu-user) on an x86-64 machine"),
    # the sanitizers check the same code natively; under emulation they
    # would only be slower
    pytest.mark.skipif(conftest.SANITIZED, reason="a sanitizer build runs natively only"),
]

# run by the emulated CPU: the answers of scikit-learn for each (model, rows)
ORACLE = r"""
import json, pickle, sys
import numpy as np
out = []
for path, rows in json.load(open(sys.argv[1])):
    m = pickle.load(open(path, "rb"))
    X = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    got = {}
    for k in ("predict", "predict_proba", "decision_function"):
        if hasattr(m, k):
            try:
                got[k] = getattr(m, k)(X).tolist()
            except AttributeError:
                pass
    out.append(got)
json.dump(out, open(sys.argv[2], "w"))
"""


def run(cmd, emulate=True, **kw):
    """cmd on the emulated CPU (or, emulate=False, on this one)."""
    return subprocess.run(([QEMU, "-cpu", CPU] if emulate else []) + cmd,
                          capture_output=True, text=True, timeout=600, **kw)


def run_eval(path, rows, emulate=True):
    p = run([BIN, "eval", path], emulate, input=json.dumps({"instances": rows}))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_the_emulated_cpu_has_no_avx2():
    """Else the test below would run the AVX2 code again."""
    p = run([sys.executable, "-c", "import numpy.core._multiarray_umath as m; "
             "print(m.__cpu_features__['AVX2'], m.__cpu_features__['FMA3'])"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "False"], p.stdout


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    d = tmp_path_factory.mktemp("cpu")
    X, y = make_classification(400, 10, n_informative=6, n_classes=3, random_state=0)
    Xr, yr = make_regression(400, 10, noise=3.0, random_state=0)
    Xn = X.copy()
    Xn[np.random.RandomState(1).rand(*X.shape) < 0.1] = np.nan
    models = {
        "GaussianNB": (GaussianNB().fit(X, y), X),
        # 40 hidden units: eight outputs at a time; the 3 outputs, the narrow path
        "MLPClassifier": (MLPClassifier((40,), max_iter=300, random_state=0).fit(X, y), X),
        "MLPRegressor": (MLPRegressor((30, 7), max_iter=300, random_state=0).fit(Xr, yr), Xr),
        # at most 8 leaves a tree: eight rows a tree in float32 lanes
        "GradientBoostingClassifier": (GradientBoostingClassifier(
            n_estimators=30, max_depth=3, random_state=0).fit(X, y), X),
        "GradientBoostingRegressor": (GradientBoostingRegressor(
            n_estimators=30, max_depth=2, random_state=0).fit(Xr, yr), Xr),
        # float64 lanes with AVX2, the bit vectors without; NaN goes where each split says
        "HistGradientBoostingClassifier": (HistGradientBoostingClassifier(
            max_iter=30, random_state=0).fit(Xn, y), Xn),
    }
    out = []
    for name, (m, rows) in models.items():
        rows = [[None if np.isnan(v) else float(v) for v in r] for r in rows[:77]]
        out.append((name, save_model(m, str(d), name + ".pkl"), rows))
    spec = d / "spec.json"
    spec.write_text(json.dumps([(path, rows) for _, path, rows in out]))
    p = run([sys.executable, "-c", ORACLE, str(spec), str(d / "oracle.json")],
            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr
    answers = json.loads((d / "oracle.json").read_text())
    assert [name for name, _, _ in out] == NAMES
    return {name: (path, rows, ans) for (name, path, rows), ans in zip(out, answers)}


NAMES = ["GaussianNB", "MLPClassifier", "MLPRegressor", "GradientBoostingClassifier",
         "GradientBoostingRegressor", "HistGradientBoostingClassifier"]


# scikit-learn's MLPs multiply through BLAS. The reference BLAS sums in
# the order predictd does, on any CPU; OpenBLAS (a pristine Debian's)
# picks its kernels by CPU, so under it these are held to the tolerance
# the other MLP tests use, and predictd's own code is checked exactly
# against itself below.
BLAS_MODELS = {"MLPClassifier", "MLPRegressor"}


@pytest.fixture(scope="module")
def openblas():
    """True when this numpy multiplies through OpenBLAS."""
    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # BLAS is loaded by now
    with open("/proc/self/maps") as f:
        return "openblas" in f.read()


@pytest.mark.parametrize("name", NAMES)
def test_without_avx2_predictd_answers_as_scikit_learn(cases, openblas, name):
    path, rows, want = cases[name]
    got = run_eval(path, rows)
    exact = name not in BLAS_MODELS or not openblas
    compared = 0
    for k, v in want.items():
        assert k in got, (name, k, sorted(got))
        g, w = np.array(got[k]), np.array(v)
        if exact or k == "predict" and name.endswith("Classifier"):
            assert np.array_equal(g, w), (name, k)
        else:
            assert g.shape == w.shape and np.allclose(g, w, rtol=1e-9, atol=1e-12), (name, k)
        compared += 1
    assert compared >= 1, name


def test_without_avx2_an_mlp_sums_as_with_it(cases):
    """relu and identity layers call no libm function, so the plain code
    and the AVX2 code (or the plain code twice, on a CPU without AVX2)
    must give the same bits whatever the BLAS."""
    path, rows, _ = cases["MLPRegressor"]
    assert run_eval(path, rows) == run_eval(path, rows, emulate=False)
