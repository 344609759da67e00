"""The seed's Flask app, as users write it: the baseline predictd is measured
against in bench/run.sh. Deliberately unoptimised; do not "fix" it.

MODEL_PATH (environment) names the pickle; default models/iris_rf.pkl.
Run: gunicorn -w 2 -b 127.0.0.1:8000 --chdir bench flask_app:app
"""
import os
import pickle

import numpy as np
from flask import Flask, jsonify, request

MODEL_PATH = os.environ.get("MODEL_PATH", "models/iris_rf.pkl")

app = Flask(__name__)
model = pickle.load(open(MODEL_PATH, 'rb'))


@app.route('/predict', methods=['POST'])
def predict():
    features = np.array(request.get_json()['features']).reshape(1, -1)
    return jsonify({'prediction': int(model.predict(features)[0]),
                    'probabilities': model.predict_proba(features)[0].tolist()})
