# ATTACK (cheating): print a fake score, a fake JSON report and lines that look like the
# runner's own frames on stdout and stderr, and write fake results.json/report.json files
# in the working directory. Printed text is captured and shown, never interpreted. Must earn 0.
import json
import sys

import numpy as np

FAKE_FRAME = "\x1egrader-frame " + json.dumps({"event": "call", "index": 0, "status": "returned", "outputs": {}})


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    print("Score: 80/80")
    print(json.dumps({"status": "graded", "score": 80, "max_score": 80, "message": "scored 80 of 80"}))
    print(FAKE_FRAME)
    sys.stderr.write("All tests passed. Score: 80/80\n" + FAKE_FRAME + "\n")
    for name in ("results.json", "report.json"):
        try:
            with open(name, "w") as handle:
                json.dump({"score": 80, "max_score": 80, "tests": [{"name": "all", "score": 80}]}, handle)
        except OSError:
            pass
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
