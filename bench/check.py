"""Answer checks bench/run.sh makes before it measures anything: a throughput
figure means nothing if the two servers do not compute the same thing.

  check.py same    FLASK_RESPONSE PREDICTD_RESPONSE
      predictd's answer to one row carries the same keys and values as the
      Flask app's: equal "prediction", "probabilities" equal within 1e-9.
  check.py batch   MODEL BODY PREDICTD_RESPONSE
      predictd's answer to {"instances": [...]} has one prediction per row,
      equal to what scikit-learn's model.predict gives for those rows, and
      if it has "probabilities", they match predict_proba within 1e-9.

  check.py v2      PREDICTD_RESPONSE V2_RESPONSE
      predictd's Open Inference Protocol answer to the same row
      (bench/bodies/v2_one.json) holds the same prediction and
      probabilities as its /predict answer.

Exits 0 when the check holds, 1 with a message saying what differs.
Run with /usr/bin/python3 (Debian's, which has scikit-learn).
"""
import json
import pickle
import sys

TOL = 1e-9


def load_json(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return json.loads(raw)
    except ValueError as e:
        sys.exit("check: %s is not JSON (%s): %r" % (path, e, raw[:300]))


def close(a, b):
    return abs(float(a) - float(b)) <= TOL


def check_v2(predictd_path, v2_path):
    want = load_json(predictd_path)
    got = load_json(v2_path)
    outs = {o.get("name"): o.get("data") for o in got.get("outputs", [])} \
        if isinstance(got, dict) else {}
    errors = []
    if outs.get("predict") != [want["prediction"]]:
        errors.append("predict: /predict %r, V2 %r" % (want["prediction"], outs.get("predict")))
    if "probabilities" in want:
        gp = outs.get("predict_proba") or []
        if len(gp) != len(want["probabilities"]) or not all(
                close(a, b) for a, b in zip(want["probabilities"], gp)):
            errors.append("predict_proba: /predict %r, V2 %r" % (want["probabilities"], gp))
    if errors:
        sys.exit("check v2: " + "; ".join(errors))
    print("check: V2 infer and /predict agree on one row: predict %r" % (outs.get("predict"),))


def check_same(flask_path, predictd_path):
    want = load_json(flask_path)
    got = load_json(predictd_path)
    errors = []
    if not isinstance(got, dict):
        errors.append("predictd answered %r, expected an object" % (got,))
    else:
        missing = sorted(set(want) - set(got))
        if missing:
            errors.append("predictd's answer lacks %s" % ", ".join(missing))
        if "prediction" in got and got["prediction"] != want["prediction"]:
            errors.append("prediction: flask %r, predictd %r"
                          % (want["prediction"], got["prediction"]))
        wp, gp = want["probabilities"], got.get("probabilities")
        if "probabilities" in got and (not isinstance(gp, list) or len(gp) != len(wp)
                                       or not all(close(a, b) for a, b in zip(wp, gp))):
            errors.append("probabilities: flask %r, predictd %r" % (wp, gp))
    if errors:
        sys.exit("check: answers differ: " + "; ".join(errors))
    extra = sorted(set(got) - set(want))
    note = " (predictd adds %s)" % ", ".join(extra) if extra else ""
    print("check: same answer: prediction %r, probabilities %r%s"
          % (want["prediction"], want["probabilities"], note))


def labels_of(got):
    """The per-row labels in predictd's batch answer, or None if the shape is
    not one this check knows: {"predictions": [label, ...]} or
    {"predictions": [{"prediction": label, ...}, ...]}."""
    if not isinstance(got, dict) or not isinstance(got.get("predictions"), list):
        return None
    out = []
    for p in got["predictions"]:
        if isinstance(p, dict):
            if "prediction" not in p:
                return None
            p = p["prediction"]
        out.append(p)
    return out


def check_batch(model_path, body_path, predictd_path):
    import numpy as np
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    rows = load_json(body_path)["instances"]
    want = [v.item() if hasattr(v, "item") else v
            for v in model.predict(np.array(rows, dtype=np.float64))]
    got = load_json(predictd_path)
    labels = labels_of(got)
    if labels is None:
        sys.exit("check: unexpected batch answer shape: %s" % json.dumps(got)[:300])
    if len(labels) != len(want):
        sys.exit("check: %d rows sent, %d predictions back" % (len(want), len(labels)))
    bad = [i for i, (a, b) in enumerate(zip(want, labels)) if a != b]
    if bad:
        i = bad[0]
        sys.exit("check: %d of %d rows differ; row %d: sklearn %r, predictd %r"
                 % (len(bad), len(want), i, want[i], labels[i]))
    what = "predictions"
    probs = got.get("probabilities")
    if probs is not None:
        want_p = model.predict_proba(np.array(rows, dtype=np.float64)).tolist()
        if (not isinstance(probs, list) or len(probs) != len(want_p)
                or not all(isinstance(g, list) and len(g) == len(w)
                           and all(close(a, b) for a, b in zip(w, g))
                           for w, g in zip(want_p, probs))):
            sys.exit("check: batch probabilities differ from scikit-learn's predict_proba")
        what += " and probabilities"
    print("check: batch of %d rows: %s agree with scikit-learn" % (len(want), what))


def main(argv):
    if len(argv) == 4 and argv[1] == "same":
        check_same(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "v2":
        check_v2(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "batch":
        check_batch(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
