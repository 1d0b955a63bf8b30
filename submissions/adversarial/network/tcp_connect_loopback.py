# ATTACK (network): open a TCP connection to a listener on the host's loopback
# (127.0.0.1:47817, started by the corpus test) to fetch answers or leak data.
# Only ever targets 127.0.0.1; 2 s timeout. In a sandbox the connect must fail.
import socket

import numpy as np

PORT = 47817


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=2) as connection:
            connection.sendall(b"send me the expected values\n")
            print("connected to the host")
    except OSError as exc:
        print("connect failed: %s" % type(exc).__name__)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
