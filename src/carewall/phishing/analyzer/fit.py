"""Suggest signal weights from labelled examples (logistic regression).

This is a tuning aid, not part of scoring: its output is read by a person
and copied into ``weights.json`` where it makes sense, so every weight
stays a reviewed, explainable number. Plain gradient descent with L2
regularisation; the features are "signal id fired" (0/1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def fit_weights(
    examples: Sequence[Iterable[str]],
    labels: Sequence[bool],
    *,
    epochs: int = 300,
    learning_rate: float = 0.5,
    l2: float = 0.01,
) -> tuple[dict[str, float], float]:
    """Fit ``P(phishing) = sigmoid(bias + sum(weight[id]))`` over the fired ids.

    Returns ``(weights, bias)``. A weight is in log-odds; multiplied by a
    common factor it can be compared with the point weights in
    ``weights.json``.
    """
    if len(examples) != len(labels):
        raise ValueError("examples and labels differ in length")
    rows = [sorted(set(e)) for e in examples]
    weights = {feature: 0.0 for row in rows for feature in row}
    bias = 0.0
    n = max(len(rows), 1)
    for _ in range(epochs):
        grad = dict.fromkeys(weights, 0.0)
        grad_bias = 0.0
        for row, label in zip(rows, labels, strict=True):
            error = _sigmoid(bias + sum(weights[f] for f in row)) - (1.0 if label else 0.0)
            grad_bias += error
            for feature in row:
                grad[feature] += error
        bias -= learning_rate * grad_bias / n
        for feature, value in grad.items():
            weights[feature] -= learning_rate * (value / n + l2 * weights[feature])
    return weights, bias


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
