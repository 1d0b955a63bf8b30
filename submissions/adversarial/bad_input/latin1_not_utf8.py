# BAD INPUT: saved as Latin-1, not UTF-8 (the é below is one byte 0xE9).
# Résumé of my work
def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return 0.0
