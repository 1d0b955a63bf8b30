# BAD INPUT: a 20 MB source file (the corpus test pads this file with comment lines
# to 20 MB: see expected.toml). Refused before anything runs.
import numpy as np
from reg_utils import sigmoid, relu, compute_cost
