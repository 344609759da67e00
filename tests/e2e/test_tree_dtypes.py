"""A tree's node and value arrays in the dtypes scikit-learn writes
(8-byte little-endian ints and doubles, read by plain loads) and in the
others a file may carry (big-endian, 4-byte indices, as a 32-bit
platform's np.intp gives): the same numbers answer the same, bit for
bit, as scikit-learn on the tree it fitted."""
import io
import json
import pickle
import subprocess

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

from conftest import BIN


def retyped(model, index_type, float_type):
    """model pickled with every Tree's nodes and values cast to other
    dtypes of the same values (the pickled state only); returns the bytes
    and the node dtypes written."""
    def node_dtype(dt):
        fields = []
        for name in dt.names:
            t = dt.fields[name][0]
            if t.kind == "i":
                t = np.dtype(index_type)
            elif t.kind == "f":
                t = np.dtype(float_type)
            fields.append((name, t))
        return np.dtype(fields)

    class Retyping(pickle.Pickler):
        def reducer_override(self, obj):
            if type(obj) is Tree:
                cls, args, state = obj.__reduce__()
                nodes = state["nodes"]
                new = nodes.astype(node_dtype(nodes.dtype))
                for name in nodes.dtype.names:  # the cast kept every value
                    assert np.array_equal(new[name], nodes[name])
                written.append(new.dtype)
                return cls, args, dict(state, nodes=new,
                                       values=state["values"].astype(float_type))
            return NotImplemented

    written = []
    buf = io.BytesIO()
    Retyping(buf, protocol=4).dump(model)
    return buf.getvalue(), written


class _Captured:
    def __init__(self, *args):
        pass

    def __setstate__(self, state):
        self.state = state


def node_dtypes_in(data):
    """The dtypes of the nodes arrays a pickle holds, read without
    scikit-learn's Tree (which would convert them)."""
    found = []

    class Reading(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("sklearn.tree._tree", "Tree"):
                def make(*args):
                    c = _Captured()
                    found.append(c)
                    return c
                return make
            return super().find_class(module, name)

    Reading(io.BytesIO(data)).load()
    return [c.state["nodes"].dtype for c in found]


def run_eval(path, X):
    p = subprocess.run([BIN, "eval", str(path)], input=json.dumps({"instances": X.tolist()}),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("index_type,float_type", [
    ("<i8", "<f8"), (">i8", ">f8"), ("<i4", "<f8"), (">i4", ">f8")])
@pytest.mark.parametrize("forest", [False, True])
def test_node_dtypes_answer_alike(tmp_path, index_type, float_type, forest):
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=4)
    m = (RandomForestClassifier(n_estimators=5, random_state=0) if forest
         else DecisionTreeClassifier(random_state=0)).fit(X, y)
    data, written = retyped(m, index_type, float_type)
    assert written and all(dt["left_child"] == np.dtype(index_type) and
                           dt["threshold"] == np.dtype(float_type) for dt in written), written
    assert node_dtypes_in(data) == written  # and the file holds them
    path = tmp_path / "m.pkl"
    path.write_bytes(data)
    got = run_eval(path, X[:60])
    assert got["predict"] == m.predict(X[:60]).tolist()
    assert np.array_equal(np.array(got["predict_proba"]), m.predict_proba(X[:60]))
