# ATTACK (network / escape): list the network interfaces, then try the Docker and
# containerd sockets a careless setup mounts into containers (whoever reaches them owns
# the host). Sends only a read-only "GET /version". In a sandbox: loopback only, no socket.
import socket

import numpy as np

SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock")


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    print("interfaces: %s" % ",".join(sorted(name for _, name in socket.if_nameindex())))
    reached = []
    for path in SOCKETS:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(path)
                sock.sendall(b"GET /version HTTP/1.0\r\n\r\n")
                reached.append(path)
        except OSError:
            pass
    print("docker sockets reached: %s" % (reached or "none"))
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
