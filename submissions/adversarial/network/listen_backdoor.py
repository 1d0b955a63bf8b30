# ATTACK (network): open a backdoor: listen on 127.0.0.1:47818 in a thread that outlives
# the call and serves anyone who connects. Only 127.0.0.1; the thread stops after 20 s.
# After the run nothing may listen on the host.
import socket
import threading
import time

import numpy as np


def _serve(server):
    server.settimeout(0.5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            connection, _ = server.accept()
        except OSError:
            continue
        connection.sendall(b"backdoor\n")
        connection.close()
    server.close()


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    try:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 47818))
        server.listen()
        threading.Thread(target=_serve, args=(server,), daemon=True).start()
        print("backdoor listening")
    except OSError as exc:
        print("listen failed: %s" % type(exc).__name__)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
