"""Classifiers fitted on several outputs over HTTP (issue 3: multi-output
models return arrays): /predict answers one label per output and one
probability list per output, compared with scikit-learn for the same
rows. Parity for every version is in the matrix (cases_multioutput.py)."""
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from conftest import module_server, save_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    Y = np.empty((len(y), 2), dtype=object)
    Y[:, 0] = np.array(["setosa", "versicolor", "virginica"])[y]
    Y[:, 1] = np.where(X[:, 3] > 1.0, "wide", "thin")
    m = RandomForestClassifier(n_estimators=15, random_state=0).fit(X, Y)
    path = save_model(m, tmp_path_factory.mktemp("multi"), "two_outputs.pkl")
    return m, X, path


@pytest.fixture(scope="module")
def server(model, request):
    return module_server(request, model[2])


def test_one_row_gets_a_label_and_probabilities_per_output(model, server):
    m, X, _ = model
    row = X[[77]]
    status, body = server.request("POST", "/predict", {"features": row[0].tolist()})
    assert status == 200, body
    assert body["prediction"] == m.predict(row)[0].tolist()
    want = m.predict_proba(row)
    assert len(body["probabilities"]) == 2
    for j in range(2):
        assert np.allclose(body["probabilities"][j], want[j][0], rtol=1e-9, atol=1e-12)


def test_batch_agrees(model, server):
    m, X, _ = model
    rows = X[::9]
    status, body = server.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == m.predict(rows).tolist()
    want = m.predict_proba(rows)
    for i, per_row in enumerate(body["probabilities"]):
        for j in range(2):
            assert np.allclose(per_row[j], want[j][i], rtol=1e-9, atol=1e-12)


def test_check_lists_each_outputs_classes(model):
    from conftest import run_check
    p = run_check(model[2])
    assert p.returncode == 0, p.stderr
    assert "['setosa', 'versicolor', 'virginica']" in p.stdout
    assert "['thin', 'wide']" in p.stdout
    assert "2 class labels, one per output" in p.stdout
