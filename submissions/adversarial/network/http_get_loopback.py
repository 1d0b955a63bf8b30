# ATTACK (network): fetch "expected values" over HTTP from the host's loopback
# (http://127.0.0.1:47817/, the corpus test's listener). Only ever 127.0.0.1; 2 s timeout.
# In a sandbox the request must fail.
import urllib.request

import numpy as np

URL = "http://127.0.0.1:47817/expected.json"


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    try:
        with urllib.request.urlopen(URL, timeout=2) as response:
            print("fetched %d bytes" % len(response.read()))
    except Exception as exc:
        print("request failed: %s" % type(exc).__name__)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
