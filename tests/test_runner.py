"""The in-sandbox runner's loading rules, tested directly (it is a plain module)."""

import json

from grader import runner


def test_only_definitions_run_at_top_level():
    source = b"import math\nX = 3\nf = lambda x: x\nprint('hi')\ntrain()\ndef g():\n    return X\n"
    namespace = {}
    notes = runner.load_submission(source, "py", namespace)
    assert namespace["g"]() == 3 and "f" in namespace
    assert notes["skipped"] == ["line 4", "line 5"]
    assert notes["errors"] == []


def test_an_error_at_top_level_keeps_the_other_definitions():
    namespace = {}
    notes = runner.load_submission(b"def f():\n    return 1\nimport not_a_module\ndef g():\n    return 2\n", "py", namespace)
    assert "f" in namespace and "g" in namespace
    assert "ModuleNotFoundError" in notes["errors"][0]


def test_stub_modules_accept_settings():
    namespace = {"plt": runner._Inert()}
    notes = runner.load_submission(b"plt.rcParams['figure.figsize'] = (7.0, 4.0)\n", "py", namespace)
    assert notes["errors"] == []


def _notebook(*cells):
    return json.dumps({"cells": [{"cell_type": kind, "source": source} for kind, source in cells]}).encode()


def test_notebook_magics_and_shell_escapes_are_neutralised():
    notebook = _notebook(
        ("markdown", "# Title"),
        ("code", "%matplotlib inline\nimport numpy as np\nfiles = !ls\n!rm -rf /tmp/x"),
        ("code", "%%bash\nrm -rf /"),
        ("code", "%%time\ndef f():\n    return files"),
    )
    namespace = {}
    notes = runner.load_submission(notebook, "ipynb", namespace)
    assert notes["errors"] == []
    assert namespace["f"]() is None


def test_syntax_error_in_one_cell_keeps_the_others():
    notebook = _notebook(("code", "def broken(:\n"), ("code", "def ok():\n    return 1"))
    namespace = {}
    notes = runner.load_submission(notebook, "ipynb", namespace)
    assert namespace["ok"]() == 1
    assert notes["errors"] == ["SyntaxError: invalid syntax (cell 1, line 1)"]


def test_a_list_or_tuple_output_is_refused_naming_its_type():
    room = runner._Room(1000)
    assert runner._encode([0.5, 1.5], room) == {"error": "is a Python list, not a numpy array"}
    assert runner._encode((0.5,), room) == {"error": "is a Python tuple, not a numpy array"}


def test_returning_none_loses_every_output_saying_so():
    outputs = runner._read_outputs(None, {"dW1": ["dW1"], "dW2": ["dW2"]}, runner._Room(1000), 1.0)
    assert outputs == {name: {"error": "was not returned: the function returned None"} for name in ("dW1", "dW2")}
