"""Our reference for the Regularization assignment: used on the grader's side only.

`solution` holds the four graded functions, `inputs` draws each case's inputs,
`consistency` recomputes outputs from a submission's own dropout masks. Only
`support/` (the course's helper module) is ever shipped into the sandbox.
"""
