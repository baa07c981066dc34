"""What each input contributed to a prediction: exact SHAP values of the gradient-boosted trees, categoricals included.

The values are path-dependent TreeSHAP (Lundberg et al. 2020, the algorithm of ``shap.TreeExplainer``) in the model's
raw output: log-odds for classification, the prediction itself for regression. For every row they add up, with the
expected value, to the raw prediction. shap's own reading of scikit-learn's HistGradientBoosting trees ignores their
native categorical splits (github.com/shap/shap/issues/3436): on this project's model it is off by up to 1.5 log-odds.
Here each root-to-leaf path is read from the fitted trees with the model's own split rules, categorical ones included,
and the Shapley values of every path are summed, vectorised over rows with numpy. For a model without categorical
splits the figures are shap's own (``tests/unit/test_governance.py`` compares them).
"""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

UNITS = {"classification": "log-odds of the label being 1", "regression": "the label's units"}
ROW_CHUNK = 64  # rows per pass: a pass holds a few arrays of rows x paths x depth floats


class ExplanationError(ValueError):
    """The model is not one this module can explain; the message says which part and why."""


def _shapley_weights(depth: int) -> np.ndarray:
    """|S|! (d - |S| - 1)! / d! for |S| = 0 .. d - 1: the weight of a coalition of |S| of the path's other features."""
    return np.array([factorial(k) * factorial(depth - k - 1) / factorial(depth) for k in range(depth)])


class Explainer:
    """SHAP values of a fitted ``preprocess`` + HistGradientBoosting pipeline (``core/model.py``).

    Build it once per model (it reads every tree, tens of milliseconds) and call ``values`` or ``top`` per batch.
    """

    def __init__(self, model: Pipeline) -> None:
        steps = getattr(model, "named_steps", {})
        if "preprocess" not in steps or "model" not in steps or not hasattr(steps["model"], "_predictors"):
            raise ExplanationError(
                "explanations need the project's pipeline: a 'preprocess' step and a fitted HistGradientBoosting "
                "'model' step (core/model.py)"
            )
        self.preprocess, estimator = steps["preprocess"], steps["model"]
        if any(len(iteration) != 1 for iteration in estimator._predictors):
            raise ExplanationError("explanations cover one output (binary classification or regression) only")
        self.features = tuple(str(name) for name in self.preprocess.get_feature_names_out())
        self._nodes(estimator)
        self._paths()

    def _nodes(self, estimator) -> None:
        """Every tree's nodes in one set of arrays (children as absolute indices)."""
        known, f_idx_map = estimator._bin_mapper.make_known_categories_bitsets()
        trees = [iteration[0] for iteration in estimator._predictors]
        starts = np.cumsum([0] + [len(tree.nodes) for tree in trees])
        bitset_starts = np.cumsum([0] + [len(tree.raw_left_cat_bitsets) for tree in trees])
        nodes = np.concatenate([tree.nodes for tree in trees])
        shift = np.repeat(starts[:-1], [len(tree.nodes) for tree in trees])
        self.roots = starts[:-1]
        self.leaf = nodes["is_leaf"].astype(bool)
        self.left = np.where(self.leaf, -1, nodes["left"].astype(np.int64) + shift)
        self.right = np.where(self.leaf, -1, nodes["right"].astype(np.int64) + shift)
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.categorical = nodes["is_categorical"].astype(bool) & ~self.leaf
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.count = nodes["count"].astype(np.float64)
        self.value = nodes["value"].astype(np.float64)
        shift_bitsets = np.repeat(bitset_starts[:-1], [len(tree.nodes) for tree in trees])
        self.bitset = nodes["bitset_idx"].astype(np.int64) + shift_bitsets
        empty = np.zeros((0, 8), dtype=np.uint32)
        self.left_categories = np.concatenate([tree.raw_left_cat_bitsets for tree in trees] + [empty])
        self.known_categories = known
        self.known_row = np.asarray(f_idx_map, dtype=np.int64)[self.feature.clip(0)]
        self.internal = np.flatnonzero(~self.leaf)
        self.baseline = float(np.ravel(estimator._baseline_prediction)[0])
        per_tree = [  # each tree's leaves weighed by the training rows that reached them
            (self.value[a:b][self.leaf[a:b]] * self.count[a:b][self.leaf[a:b]]).sum() / self.count[a]
            for a, b in itertools.pairwise(starts)
        ]
        self.expected_value = self.baseline + float(np.sum(per_tree))

    def _paths(self) -> None:
        """Each root-to-leaf path as (feature, share of training rows kept at its splits, conditions), grouped by
        how many distinct features it splits on."""
        grouped: dict[int, list] = {}
        for root in self.roots:
            stack: list[tuple[int, tuple]] = [(int(root), ())]
            while stack:
                node, taken = stack.pop()
                if self.leaf[node]:
                    by_feature: dict[int, list] = {}
                    for step in taken:
                        by_feature.setdefault(int(self.feature[step[0]]), []).append(step)
                    if by_feature:  # a tree that is a single leaf only moves the expected value
                        grouped.setdefault(len(by_feature), []).append((by_feature, self.value[node]))
                    continue
                stack.append((int(self.left[node]), (*taken, (node, int(self.left[node]), True))))
                stack.append((int(self.right[node]), (*taken, (node, int(self.right[node]), False))))
        self.groups = []
        for depth, paths in sorted(grouped.items()):
            features, zero, conditions, lefts, starts = [], [], [], [], []
            for by_feature, _ in paths:
                for feature, steps in by_feature.items():
                    starts.append(len(conditions))
                    features.append(feature)
                    zero.append(np.prod([self.count[child] / self.count[parent] for parent, child, _ in steps]))
                    conditions += [parent for parent, _, _ in steps]
                    lefts += [went_left for _, _, went_left in steps]
            self.groups.append(
                (
                    depth,
                    np.asarray(features, dtype=np.int64).reshape(-1, depth),
                    np.asarray(zero, dtype=np.float64).reshape(-1, depth),
                    np.asarray([value for _, value in paths], dtype=np.float64),
                    np.asarray(conditions, dtype=np.int64),
                    np.asarray(lefts, dtype=bool),
                    np.asarray(starts, dtype=np.int64),
                )
            )

    def goes_left(self, matrix: np.ndarray) -> np.ndarray:
        """rows x nodes: where each row goes at each split, by the model's own rules (missing values and unknown
        categories follow ``missing_go_to_left``)."""
        nodes = self.internal
        x = matrix[:, self.feature[nodes]]
        missing = np.isnan(x)
        numeric = x <= self.threshold[nodes]
        out = np.zeros((matrix.shape[0], len(self.leaf)), dtype=bool)
        chosen = np.where(missing, self.missing_left[nodes], numeric)
        categorical = self.categorical[nodes]
        if categorical.any():
            cats = nodes[categorical]
            xc = x[:, categorical]
            unusable = np.isnan(xc) | (xc < 0) | (xc > 255)
            code = np.where(unusable, 0, np.nan_to_num(xc)).astype(np.int64)
            word, bit = code // 32, (code % 32).astype(np.uint32)
            in_left = (self.left_categories[self.bitset[cats], word] >> bit) & 1
            known = (self.known_categories[self.known_row[cats], word] >> bit) & 1
            missing_like = unusable | ((in_left == 0) & (known == 0))
            chosen[:, categorical] = np.where(missing_like, self.missing_left[cats], in_left == 1)
        out[:, nodes] = chosen
        return out

    def raw_prediction(self, matrix: np.ndarray) -> np.ndarray:
        """The model's raw output by following ``goes_left``: checks that the split rules are read as the model
        applies them."""
        hot = self.goes_left(matrix)
        node = np.repeat(self.roots[None, :], matrix.shape[0], axis=0)
        rows = np.arange(matrix.shape[0])[:, None]
        while not self.leaf[node].all():
            inner = ~self.leaf[node]
            step = np.where(hot[rows, node], self.left[node], self.right[node])
            node = np.where(inner, step, node)
        return self.baseline + self.value[node].sum(axis=1)

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        """rows x features: each input's contribution, in the model's raw output (log-odds, or the prediction)."""
        matrix = np.asarray(self.preprocess.transform(frame), dtype=np.float64)
        out = np.zeros((len(matrix), len(self.features)))
        for begin in range(0, len(matrix), ROW_CHUNK):
            out[begin : begin + ROW_CHUNK] = self._values(matrix[begin : begin + ROW_CHUNK])
        return out

    def _values(self, matrix: np.ndarray) -> np.ndarray:
        hot = self.goes_left(matrix)
        rows = len(matrix)
        phi = np.zeros((len(self.features), rows))
        for depth, features, zero, leaf_values, conditions, lefts, starts in self.groups:
            paths = len(leaf_values)
            held = hot[:, conditions] == lefts  # rows x conditions
            one = np.logical_and.reduceat(held, starts, axis=1).reshape(rows, paths, depth).astype(np.float64)
            # The product over the path's features of (zero + one * t): coefficient k weighs coalitions of k features.
            poly = np.zeros((rows, paths, depth + 1))
            poly[..., 0] = 1.0
            for j in range(depth):
                shifted = np.zeros_like(poly)
                shifted[..., 1:] = poly[..., :-1] * one[..., j : j + 1]
                poly = poly * zero[None, :, j : j + 1] + shifted
            weights = _shapley_weights(depth)
            for i in range(depth):
                z, o = zero[None, :, i], one[..., i]
                # Divide feature i's factor (z + o t) back out: by z alone when o is 0, by (z + t) when o is 1.
                by_zero = poly[..., :depth] / z[..., None]
                by_binomial = np.zeros((rows, paths, depth))
                carry = poly[..., depth]
                for k in range(depth - 1, -1, -1):
                    by_binomial[..., k] = carry
                    carry = poly[..., k] - z * carry
                others = np.where((o == 1)[..., None], by_binomial, by_zero)
                contribution = (others @ weights) * (o - z) * leaf_values[None, :]
                np.add.at(phi, features[:, i], contribution.T)
        return phi.T

    def top(self, frame: pd.DataFrame, k: int) -> pd.DataFrame:
        """The ``k`` largest contributions of each row, largest magnitude first: ``explain_<n>_feature`` and
        ``explain_<n>_contribution`` for n = 1 .. k, indexed like ``frame``."""
        values = self.values(frame)
        k = min(k, len(self.features))
        order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
        names = np.asarray(self.features, dtype=object)
        columns = {}
        for n in range(k):
            columns[f"explain_{n + 1}_feature"] = names[order[:, n]]
            columns[f"explain_{n + 1}_contribution"] = np.take_along_axis(values, order[:, n : n + 1], axis=1)[:, 0]
        return pd.DataFrame(columns, index=frame.index)

    def records(self, frame: pd.DataFrame, k: int) -> list[list[dict[str, object]]]:
        """``top`` as JSON-ready lists, one per row: ``{"feature", "contribution"}``, largest magnitude first (what the
        server answers with ``?explain=true``)."""
        top = self.top(frame, k)
        pairs = [(name, name.replace("_feature", "_contribution")) for name in top.columns if name.endswith("_feature")]
        return [
            [{"feature": row[name], "contribution": float(row[value])} for name, value in pairs]
            for row in top.to_dict(orient="records")
        ]


def importance(features: tuple[str, ...], values: np.ndarray) -> list[dict[str, float | str]]:
    """The global summary: mean |SHAP value| per input over the explained rows, largest first."""
    mean_abs = np.abs(values).mean(axis=0) if len(values) else np.zeros(len(features))
    order = np.argsort(-mean_abs, kind="stable")
    return [{"feature": features[i], "mean_abs_shap": float(mean_abs[i])} for i in order]
