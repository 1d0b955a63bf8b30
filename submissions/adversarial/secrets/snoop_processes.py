# ATTACK (secrets): list every process visible in /proc and read their command lines,
# looking for the grader (its arguments, paths to the case files). Read-only; prints
# only how many processes it saw and whether a grader process was among them.
# A sandbox must show only the submission's own processes.
import os

import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    grader_seen = False
    for pid in pids:
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        # The host grader runs as pytest, `grade` or `python -m grader`, next to the case files;
        # a sandbox's own launcher (bwrap's pid 1) is not the grader.
        words = command.split(b"\0")
        if int(pid) != os.getpid() and (
            b"pytest" in command or b"testcases" in command or b"grader" in words or any(w.endswith(b"/grade") for w in words)
        ):
            grader_seen = True
    print("grader process visible: %s" % grader_seen)
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    return 0.0, ()


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {}
