"""In-sandbox runner: load a submission, call its functions, print their outputs as plain data.

This file runs inside the sandbox, next to untrusted code, so it imports only the
standard library and numpy and never anything from the grader package. It reads one
bundle (an `.npz`, `allow_pickle=False`) from stdin: `__plan__` (JSON: what to call,
how), `__submission__` (the source bytes) and `__inputs__` (every input array's bytes,
located by the plan). It writes one line per event to stdout, each `FRAME_PREFIX` +
JSON. Nothing it writes is trusted by the grader, which validates every frame.
"""

import ast
import base64
import io
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
import types
import importlib.abc
import importlib.machinery

import numpy as np

FRAME_PREFIX = b"\x1egrader-frame "
_NUMERIC_KINDS = "biuf"
# The host refuses frames beyond these (grader/wire.py); staying inside them keeps every frame usable.
_MAX_TEXT = 1000
_MAX_DIMS = 8
_MAX_DIM = 10**7
_MAX_NOTES = 100


class CallTimeout(BaseException):
    """Raised in the main thread when one call runs past its time budget."""


# ---------------------------------------------------------------- output capture


class _Capture:
    """Redirect fd 1 and 2 into a pipe; keep the first `limit` bytes, count the rest."""

    def __init__(self, limit):
        self.limit = limit
        self.head = bytearray()
        self.total = 0
        read_fd, write_fd = os.pipe()
        self._read_fd = read_fd
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        while True:
            try:
                chunk = os.read(self._read_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.total += len(chunk)
            room = self.limit - len(self.head)
            if room > 0:
                self.head += chunk[:room]

    def text(self):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # the student may have replaced or closed sys.stdout
                pass
        # Point fds 1 and 2 away from the pipe so the drain thread reads to its end; a child
        # process of the student's may still hold the pipe open, hence the bounded join.
        try:
            sink = os.open(os.devnull, os.O_WRONLY)
        except OSError:
            sink = None
        for fd in (1, 2):
            try:
                os.dup2(sink, fd) if sink is not None else os.close(fd)
            except OSError:
                pass
        self._thread.join(timeout=1.0)
        return self.head.decode("utf-8", "replace"), self.total


# ---------------------------------------------------------------- loading the submission

_MAGIC_LINE = re.compile(r"^(\s*)(?:([\w.,\s\[\]]+?)\s*=\s*)?[!%]")
_CELL_MAGICS_WITH_PYTHON_BODY = {"time", "timeit", "capture", "prun"}
_DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _neutralise_ipython(cell):
    """Drop shell escapes and magics from one notebook cell, keeping line numbers."""
    lines = cell.split("\n")
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        if first[2:].split(" ")[0] not in _CELL_MAGICS_WITH_PYTHON_BODY:
            return ""
        start = next(i for i, line in enumerate(lines) if line.strip())
        lines[start] = ""
    out = []
    for line in lines:
        match = _MAGIC_LINE.match(line)
        if match:
            indent, target = match.group(1), match.group(2)
            out.append(indent + (target + " = None" if target else "pass"))
        elif line.rstrip().endswith("?") and not line.lstrip().startswith("#"):
            out.append(line[: len(line) - len(line.lstrip())] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def _code_cells(source, kind):
    """The submission as a list of (label, code) pieces."""
    text = source.decode("utf-8-sig")  # editors on Windows save a byte-order mark
    if kind != "ipynb":
        return [("line", text)]
    notebook = json.loads(text)
    cells = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        body = cell.get("source", "")
        if isinstance(body, list):
            body = "".join(body)
        cells.append(("cell %d, line" % number, _neutralise_ipython(body)))
    return cells


def _is_definition(node):
    """True for top-level statements that only define things (imports, defs, constants)."""
    if isinstance(node, _DEFINITION_NODES):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        value = node.value
        return value is None or isinstance(value, ast.Lambda) or not any(
            isinstance(sub, ast.Call) for sub in ast.walk(value)
        )
    if isinstance(node, ast.Try):
        return all(_is_definition(sub) for sub in node.body)
    if isinstance(node, ast.If):
        return all(_is_definition(sub) for sub in node.body + node.orelse) and not any(
            isinstance(sub, ast.Call) for sub in ast.walk(node.test)
        )
    return False


def _text(value, limit=_MAX_TEXT):
    """Student-controlled text made safe for a frame: a real str, valid UTF-8, at most `limit` characters."""
    text = value if type(value) is str else "?"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "replace").decode("utf-8")


def _type_name(value):
    return _text(type(value).__name__, 100)


def _describe_exception(exc, label="line"):
    """A short, student-facing description of an exception raised by their code."""
    try:
        # str() runs the student's __str__, which may raise, loop or return a non-str.
        detail = _text(str(exc), 500)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<submission>"]
        where = " (%s %d)" % (label, frames[-1].lineno) if frames else ""
    except BaseException:
        detail, where = "(its message could not be read)", ""
    return "%s: %s%s" % (_type_name(exc), detail, where)


def _capped(notes):
    """At most `_MAX_NOTES` entries, so one frame can always carry them."""
    if len(notes) <= _MAX_NOTES:
        return notes
    return notes[: _MAX_NOTES - 1] + ["and %d more" % (len(notes) - _MAX_NOTES + 1)]


def load_submission(source, kind, namespace):
    """Execute the definitions of the submission in `namespace`; report what went wrong."""
    notes = {"errors": [], "skipped": []}
    for label, code in _code_cells(source, kind):
        try:
            tree = ast.parse(code, "<submission>")
        except SyntaxError as exc:
            notes["errors"].append(
                "SyntaxError: %s (%s %s)" % (exc.msg, label, exc.lineno)
            )
            continue
        except (RecursionError, MemoryError):
            notes["errors"].append("the code is nested too deeply for Python to read (%s 1)" % label)
            continue
        for node in tree.body:
            if not _is_definition(node):
                notes["skipped"].append("%s %d" % (label, node.lineno))
                continue
            # One statement at a time: a failing import or setting must not hide the defs after it.
            try:
                exec(compile(ast.Module(body=[node], type_ignores=[]), "<submission>", "exec"), namespace)
            except CallTimeout:
                raise
            except BaseException as exc:  # the student's top level may raise anything, SystemExit included
                notes["errors"].append(_describe_exception(exc, label))
    return {key: _capped(value) for key, value in notes.items()}


# ---------------------------------------------------------------- helper and stub modules


class _InertModule(types.ModuleType):
    """Stands in for a module the sandbox does not have (plotting, datasets): every name is a no-op."""

    __path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()


class _Inert:
    def __call__(self, *args, **kwargs):
        return _Inert()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()

    def __iter__(self):
        return iter(())

    def __getitem__(self, key):
        return _Inert()

    def __setitem__(self, key, value):
        pass


class _ModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve the assignment's helper modules from source and stub out unavailable ones."""

    def __init__(self, sources, stubs):
        self.sources = sources
        self.stubs = set(stubs)

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.sources or fullname.split(".")[0] in self.stubs:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        if spec.name in self.sources:
            return None
        return _InertModule(spec.name)

    def exec_module(self, module):
        if module.__name__ in self.sources:
            exec(compile(self.sources[module.__name__], module.__name__ + ".py", "exec"), module.__dict__)


def _get_ipython():
    return _Inert()


# ---------------------------------------------------------------- calling


def _build_arg(spec, inputs):
    """A fresh argument: arrays are new copies of their bytes in the inputs blob."""
    if "array" in spec:
        where = spec["array"]
        return np.ndarray(where["shape"], where["dtype"], buffer=inputs, offset=where["offset"]).copy()
    if "tuple" in spec:
        return tuple(_build_arg(item, inputs) for item in spec["tuple"])
    if "dict" in spec:
        return {key: _build_arg(item, inputs) for key, item in spec["dict"].items()}
    return spec["value"]


def _snapshot(value):
    """An immutable picture of an argument (bytes, not arrays): the call cannot edit the 'before' side."""
    if type(value) is np.ndarray:
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if type(value) is tuple:
        return ("tuple", tuple(_snapshot(item) for item in value))
    if type(value) is dict:
        return ("dict", tuple((key, _snapshot(item)) for key, item in value.items()))
    return ("value", value)


def _unchanged(snapshot, value):
    """Whether an argument still holds what its snapshot shows.

    Exact types and ndarray's own methods: neither a patched numpy nor an object with a
    lying __eq__ can make a modified argument look untouched.
    """
    kind, *held = snapshot
    if kind == "array":
        return type(value) is np.ndarray and (value.shape, value.dtype.str, value.tobytes()) == tuple(held)
    if kind == "tuple":
        items = held[0]
        return type(value) is tuple and len(value) == len(items) and all(map(_unchanged, items, value))
    if kind == "dict":
        items = held[0]
        return (
            type(value) is dict
            and len(value) == len(items)
            and all(key in value and _unchanged(item, value[key]) for key, item in items)
        )
    return type(value) is type(held[0]) and value == held[0]


class _Room:
    """Bytes of array data still allowed in this run's frames: the host reads only so much."""

    def __init__(self, limit):
        self.limit = limit
        self.left = limit

    def problem(self, shape, nbytes):
        """Why an array of this shape and size cannot be sent, or ""."""
        if len(shape) > _MAX_DIMS:
            return "has %d dimensions; at most %d are accepted" % (len(shape), _MAX_DIMS)
        if any(size > _MAX_DIM for size in shape) or nbytes > self.left:
            return "is too large (%d bytes; all outputs together may use at most %d)" % (nbytes, self.limit)
        return ""

    def take(self, nbytes):
        self.left -= nbytes


_RETURNABLE = (bool, int, float, np.generic, np.ndarray)


def _encode(value, room):
    """Turn one returned value into plain data: {shape, dtype, data} or {error}."""
    # type(), not isinstance(): an object can claim any __class__.
    if type(value) is list or type(value) is tuple:
        # Accepted silently, a list breaks the notebook's own training loop (`learning_rate * list`).
        return {"error": "is a Python %s, not a numpy array" % type(value).__name__}
    if not issubclass(type(value), _RETURNABLE):
        return {"error": "is a %s, not a number or array" % _type_name(value)}
    if issubclass(type(value), np.ndarray):
        # ndarray's own view: a subclass cannot lie about its shape, dtype or contents. Its size is
        # checked before anything copies it: a broadcast view can claim terabytes.
        value = np.ndarray.view(value, np.ndarray)
        problem = room.problem(value.shape, value.size * 8)
        if problem:
            return {"error": problem}
    try:
        array = np.array(value)
    except Exception as exc:
        return {"error": "could not be read as an array (%s)" % _type_name(exc)}
    if array.dtype.kind not in _NUMERIC_KINDS:
        return {"error": "is an array of %s, not of numbers" % _text(str(array.dtype), 50)}
    problem = room.problem(array.shape, array.size * 8)
    if problem:
        return {"error": problem}
    room.take(array.size * 8)
    array = np.ascontiguousarray(array, dtype="<f8" if array.dtype.kind == "f" else None)
    if array.dtype.kind in "iu":
        array = array.astype("<i8")
    return {
        "shape": list(array.shape),
        "dtype": array.dtype.str,
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def _extract(returned, path):
    value = returned
    for key in path:
        value = value[key]
    return value


def _on_alarm(signum, frame):
    raise CallTimeout()


def _read_outputs(returned, wanted, room, time_budget):
    """Encode each wanted output; student objects run here too (__getitem__, __array__), so under a budget."""
    if returned is None:
        return {name: {"error": "was not returned: the function returned None"} for name in wanted}
    outputs = {}
    signal.setitimer(signal.ITIMER_REAL, time_budget)
    try:
        for name, path in wanted.items():
            try:
                outputs[name] = _encode(_extract(returned, path), room)
            except CallTimeout:
                raise
            except Exception as exc:
                outputs[name] = {"error": "is missing from what the function returned (%s)" % _type_name(exc)}
    except CallTimeout:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {name: outputs.get(name, {"error": "took too long to read"}) for name in wanted}


def _call(fn, call, inputs, room, time_budget):
    """Call one function on fresh copies of its inputs and describe the outcome."""
    args = [_build_arg(spec, inputs) for spec in call["args"]]
    before = [_snapshot(arg) for arg in args]
    np.random.seed(call["seed"])
    random.seed(call["seed"])
    # A previous call may have replaced the handler; the budget must hold for this one.
    signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, time_budget)
    try:
        returned = fn(*args)
    except CallTimeout:
        return {"status": "timeout", "message": "took longer than %.0f s" % time_budget}
    except MemoryError:
        return {"status": "memory", "message": "ran out of memory"}
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code count as errors too
        return {"status": "exception", "message": _describe_exception(exc)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - started
    outputs = _read_outputs(returned, call["outputs"], room, time_budget)
    names = call.get("arg_names", [])
    mutated = [names[i] if i < len(names) else str(i) for i, (a, b) in enumerate(zip(before, args)) if not _unchanged(a, b)]
    return {"status": "returned", "seconds": round(elapsed, 4), "outputs": outputs, "mutated": mutated}


# ---------------------------------------------------------------- main


def _emit(channel, frame):
    channel.write(FRAME_PREFIX + json.dumps(frame, separators=(",", ":")).encode("ascii") + b"\n")
    channel.flush()


def main():
    bundle = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    plan = json.loads(bytes(bundle["__plan__"]).decode("utf-8"))
    source = bytes(bundle["__submission__"])
    inputs = bundle["__inputs__"].tobytes()
    channel = os.fdopen(os.dup(1), "wb")
    capture = _Capture(plan["stdout_limit"])
    os.chdir(os.environ.get("HOME", "/tmp"))

    sys.meta_path.insert(0, _ModuleFinder(plan["support_modules"], plan["stub_modules"]))
    namespace = {"__name__": "__submission__", "get_ipython": _get_ipython}
    exec(plan["preamble"], namespace)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, plan["load_seconds"])
    try:
        notes = load_submission(source, plan["kind"], namespace)
    except CallTimeout:
        notes = {"errors": ["loading the file took longer than %.0f s" % plan["load_seconds"]], "skipped": []}
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        # Only a malformed notebook gets here: its cells are read before any student code runs.
        notes = {"errors": ["the file could not be read: %s" % _text(str(exc), 500)], "skipped": [], "unreadable": True}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    _emit(channel, {"event": "loaded", **notes})

    room = _Room(plan["output_limit"])
    timed_out = set()
    for index, call in enumerate(plan["calls"]):
        fn = namespace.get(call["function"])
        if not callable(fn):
            outcome = {"status": "missing", "message": "%s is not defined" % call["function"]}
        elif call["function"] in timed_out:
            # An endless loop usually loops on every case: do not spend the time budget again.
            outcome = {"status": "timeout", "message": "was not run again after an earlier case took too long"}
        else:
            try:
                outcome = _call(fn, call, inputs, room, plan["call_seconds"])
            except CallTimeout:  # the alarm fired between the call's end and disarming it
                outcome = {"status": "timeout", "message": "took longer than %.0f s" % plan["call_seconds"]}
            if outcome["status"] == "timeout":
                timed_out.add(call["function"])
        _emit(channel, {"event": "call", "index": index, **outcome})

    text, total = capture.text()
    _emit(channel, {"event": "done", "stdout": text, "stdout_bytes": total})
    os._exit(0)


if __name__ == "__main__":
    main()
