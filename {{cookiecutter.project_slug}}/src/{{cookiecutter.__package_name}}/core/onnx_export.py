"""The model's ONNX flavour: export the fitted pipeline, check it predicts what scikit-learn does, score with it.

skl2onnx 1.20 converts neither HistGradientBoosting's native categorical splits (its predictions are off by tenths)
nor this OrdinalEncoder (missing values with ``max_categories``), so both get a converter of their own here,
registered with skl2onnx: the trees become one ``ai.onnx.ml`` TreeEnsemble (opset 5: it has set-membership
splits and double thresholds, so every comparison is the one scikit-learn makes), the encoder a LabelEncoder per
column whose table is the fitted encoder's own output for every category. Whatever these converters do not cover
(another estimator, a multi-class target, an empty string as a real category) is an ``ExportError``; whether an
export may serve is decided on the holdout by ``parity``, never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PARITY_TOLERANCE = 1e-6  # the largest difference from scikit-learn's prediction on the holdout an export may have
MISSING = ""  # how a missing category reaches the graph: onnxruntime's string tensors have no null
ML_DOMAIN = "ai.onnx.ml"
OPSET = 18  # the default domain
TREE_OPSET = 5  # ai.onnx.ml: TreeEnsemble, with BRANCH_MEMBER and double thresholds
LEQ, MEMBER = 0, 6  # TreeEnsemble's node modes


class ExportError(ValueError):
    """The pipeline cannot be exported exactly; the message says which part and why."""


# --- the converters ------------------------------------------------------------------------------------------------


def _bitset_members(words: np.ndarray) -> list[int]:
    """The category codes set in one of scikit-learn's 256-bit bitsets (eight uint32 words)."""
    return [index * 32 + bit for index, word in enumerate(words) for bit in range(32) if int(word) >> bit & 1]


class _Nodes:
    """TreeEnsemble's interior nodes, as its parallel attribute lists, filled one node at a time."""

    NAMES = (
        "nodes_modes",
        "nodes_featureids",
        "nodes_splits",
        "nodes_truenodeids",
        "nodes_trueleafs",
        "nodes_falsenodeids",
        "nodes_falseleafs",
        "nodes_missing_value_tracks_true",
    )

    def __init__(self) -> None:
        self.lists: dict[str, list] = {name: [] for name in self.NAMES}

    def __len__(self) -> int:
        return len(self.lists["nodes_modes"])

    def add(self, mode: int, feature: int, split: float, yes: tuple[int, int], no: tuple[int, int], missing: bool):
        """One node: ``yes`` and ``no`` are (index, 1 if a leaf else 0); ``missing`` values take the yes branch."""
        values = (mode, feature, split, yes[0], yes[1], no[0], no[1], int(missing))
        for name, value in zip(self.NAMES, values, strict=True):
            self.lists[name].append(value)


def tree_ensemble_attributes(estimator) -> dict[str, Any]:
    """The TreeEnsemble attributes that make the same decisions as the fitted ``estimator``'s trees on raw data.

    A numeric split is ``x <= threshold`` with missing values sent where scikit-learn sends them. A categorical
    split tests membership in one set and sends everything else (missing, unknown or negative codes) the other way,
    as scikit-learn does: when missing values go left, the set is the known categories that go right.
    """
    from onnx import numpy_helper

    if estimator.n_trees_per_iteration_ != 1:
        raise ExportError("only binary classification and single-target regression export to ONNX")
    known, feature_map = estimator._bin_mapper.make_known_categories_bitsets()
    interior, roots, members, leaf_weights = _Nodes(), [], [], []
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes
        is_leaf = nodes["is_leaf"].astype(bool)
        leaf_index = {i: len(leaf_weights) + k for k, i in enumerate(np.flatnonzero(is_leaf))}
        node_index = {i: len(interior) + k for k, i in enumerate(np.flatnonzero(~is_leaf))}
        leaf_weights.extend(float(nodes[i]["value"]) for i in leaf_index)
        branch = {i: (leaf_index[i], 1) for i in leaf_index} | {i: (node_index[i], 0) for i in node_index}
        if not node_index:  # a tree that is one leaf: one node whose two branches both reach it
            roots.append(len(interior))
            interior.add(LEQ, 0, 0.0, branch[0], branch[0], missing=False)
            continue
        roots.append(node_index[0])
        for i in node_index:
            node = nodes[i]
            feature, left, right = int(node["feature_idx"]), branch[int(node["left"])], branch[int(node["right"])]
            if not node["is_categorical"]:
                threshold = float(node["num_threshold"])
                interior.add(LEQ, feature, threshold, left, right, missing=bool(node["missing_go_to_left"]))
                continue
            goes_left = set(_bitset_members(predictor.raw_left_cat_bitsets[node["bitset_idx"]]))
            if node["missing_go_to_left"]:  # test the known categories that go right; the rest goes left
                tested = set(_bitset_members(known[feature_map[feature]])) - goes_left
                yes, no = right, left
            else:
                tested, yes, no = goes_left, left, right
            members.extend([*map(float, sorted(tested) or [-1]), np.nan])  # NaN ends a node's set
            interior.add(MEMBER, feature, 0.0, yes, no, missing=False)  # missing: not in the set, the no branch
    attributes = {
        "n_targets": 1,
        "aggregate_function": 1,  # SUM
        "post_transform": 0,  # NONE: the link is applied after the baseline is added
        "tree_roots": roots,
        **interior.lists,
        "nodes_modes": numpy_helper.from_array(np.asarray(interior.lists["nodes_modes"], np.uint8), "nodes_modes"),
        "nodes_splits": numpy_helper.from_array(np.asarray(interior.lists["nodes_splits"], np.float64), "splits"),
        "leaf_targetids": [0] * len(leaf_weights),
        "leaf_weights": numpy_helper.from_array(np.asarray(leaf_weights, dtype=np.float64), "leaf_weights"),
    }
    if members:
        attributes["membership_values"] = numpy_helper.from_array(np.asarray(members, dtype=np.float64), "members")
    return attributes


def _add(scope, container, op: str, inputs, output: str | None = None, **attributes) -> str:
    """Add one node; returns its output's name (a fresh one unless given)."""
    output = output or scope.get_unique_variable_name(op.lower())
    container.add_node(op, inputs, output, name=scope.get_unique_operator_name(op), **attributes)
    return output


def _constant(scope, container, values: list, kind: int, shape: list[int]) -> str:
    name = scope.get_unique_variable_name("constant")
    container.add_initializer(name, kind, shape, values)
    return name


def _raw_score(scope, operator, container) -> str:
    """The trees' sum plus the baseline, in float64: scikit-learn's raw prediction."""
    from onnx import TensorProto

    estimator = operator.raw_operator
    features = _add(scope, container, "Cast", operator.inputs[0].full_name, to=TensorProto.DOUBLE)
    trees = scope.get_unique_variable_name("trees")
    # Declared as opset 3 for skl2onnx, which caps ai.onnx.ml there; export() sets the model's ai.onnx.ml to 5.
    container.add_node(
        "TreeEnsemble",
        features,
        trees,
        op_domain=ML_DOMAIN,
        op_version=3,
        name=scope.get_unique_operator_name("TreeEnsemble"),
        **tree_ensemble_attributes(estimator),
    )
    baseline = float(np.ravel(estimator._baseline_prediction)[0])
    return _add(scope, container, "Add", [trees, _constant(scope, container, [baseline], TensorProto.DOUBLE, [1, 1])])


def _convert_classifier(scope, operator, container) -> None:
    from onnx import TensorProto

    estimator = operator.raw_operator
    if len(estimator.classes_) != 2:
        raise ExportError("only binary classification exports to ONNX")
    positive = _add(scope, container, "Sigmoid", _raw_score(scope, operator, container))
    one = _constant(scope, container, [1.0], TensorProto.DOUBLE, [1, 1])
    negative = _add(scope, container, "Sub", [one, positive])
    probabilities = _add(scope, container, "Concat", [negative, positive], axis=1)
    _add(scope, container, "Identity", probabilities, operator.outputs[1].full_name)
    best = _add(scope, container, "ArgMax", probabilities, axis=1, keepdims=0)
    classes = _constant(scope, container, [int(c) for c in estimator.classes_], TensorProto.INT64, [2])
    _add(scope, container, "Gather", [classes, best], operator.outputs[0].full_name, axis=0)


def _convert_regressor(scope, operator, container) -> None:
    estimator = operator.raw_operator
    raw = _raw_score(scope, operator, container)
    if estimator.loss in ("poisson", "gamma"):  # a log link
        raw = _add(scope, container, "Exp", raw)
    elif estimator.loss not in ("squared_error", "absolute_error", "quantile"):
        raise ExportError(f"HistGradientBoostingRegressor(loss={estimator.loss!r}) has no ONNX converter here")
    _add(scope, container, "Identity", raw, operator.outputs[0].full_name)


def _classifier_shapes(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = Int64TensorType([rows])
    operator.outputs[1].type = DoubleTensorType([rows, 2])  # float64 probabilities, as scikit-learn's


def _regressor_shapes(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].get_first_dimension(), 1])


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _encoder_tables(encoder) -> list[tuple[list[str], list[float]]]:
    """Per column: every category the encoder knows and the code the fitted encoder itself gives it.

    Asking the encoder (rather than counting positions) keeps its grouping of rare categories (``max_categories``).
    """
    if not hasattr(encoder, "feature_names_in_"):
        raise ExportError("the OrdinalEncoder must be fitted on a data frame (named columns)")
    categories = [[c for c in column if not _is_missing(c)] for column in encoder.categories_]
    if any(not all(isinstance(c, str) for c in column) for column in categories):
        raise ExportError("the categorical columns must hold text to export to ONNX")
    longest = max(len(column) for column in categories)
    padded = {
        name: np.array(column + [column[0]] * (longest - len(column)), dtype=object)
        for name, column in zip(encoder.feature_names_in_, categories, strict=True)
    }
    codes = encoder.transform(pd.DataFrame(padded))
    tables = []
    for index, column in enumerate(categories):
        if MISSING in column:
            raise ExportError(f"column {encoder.feature_names_in_[index]!r} has an empty string as a category")
        tables.append((column, [float(code) for code in codes[: len(column), index]]))
    return tables


def _encoder_shapes(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    width = sum(variable.type.shape[1] for variable in operator.inputs)
    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].get_first_dimension(), width])


def _convert_encoder(scope, operator, container) -> None:
    """One LabelEncoder per column: known category -> its code, MISSING -> the missing code, else unknown."""
    from onnx import TensorProto

    encoder = operator.raw_operator
    if encoder.handle_unknown != "use_encoded_value" or len(operator.inputs) != len(encoder.categories_):
        raise ExportError("only an OrdinalEncoder with handle_unknown='use_encoded_value', one input per column")
    codes = []
    for variable, (keys, values) in zip(operator.inputs, _encoder_tables(encoder), strict=True):
        encoded = scope.get_unique_variable_name("encoded")
        container.add_node(
            "LabelEncoder",
            variable.full_name,
            encoded,
            op_domain=ML_DOMAIN,
            op_version=2,
            name=scope.get_unique_operator_name("LabelEncoder"),
            keys_strings=[*keys, MISSING],
            values_floats=[*values, float(encoder.encoded_missing_value)],
            default_float=float(encoder.unknown_value),
        )
        codes.append(_add(scope, container, "Cast", encoded, to=TensorProto.DOUBLE))  # small integers: exact
    _add(scope, container, "Concat", codes, operator.outputs[0].full_name, axis=1)


def register_converters() -> None:
    """Make skl2onnx use the converters above (idempotent; called by ``export``)."""
    from skl2onnx import update_registered_converter
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.preprocessing import OrdinalEncoder

    update_registered_converter(OrdinalEncoder, "SklearnOrdinalEncoder", _encoder_shapes, _convert_encoder)
    update_registered_converter(
        HistGradientBoostingClassifier,
        "SklearnHistGradientBoostingClassifier",
        _classifier_shapes,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(
        HistGradientBoostingRegressor, "SklearnHistGradientBoostingRegressor", _regressor_shapes, _convert_regressor
    )


# --- export --------------------------------------------------------------------------------------------------------


def input_columns(pipeline) -> tuple[list[str], list[str]]:
    """(categorical, numeric) inputs of a fitted pipeline: what its column transformer sends to an OrdinalEncoder,
    and the rest of its input columns."""
    from sklearn.preprocessing import OrdinalEncoder

    preprocess = pipeline.steps[0][1]
    if not hasattr(preprocess, "transformers_") or not hasattr(pipeline, "feature_names_in_"):
        raise ExportError("the pipeline's first step must be a fitted ColumnTransformer")
    categorical = [
        column
        for _, transformer, columns in preprocess.transformers_
        if isinstance(transformer, OrdinalEncoder)
        for column in columns
    ]
    numeric = [str(column) for column in pipeline.feature_names_in_ if column not in categorical]
    return categorical, numeric


def export(pipeline) -> bytes:
    """The fitted pipeline as a serialised ONNX model: one input per column (text [N, 1] or float64 [N, 1]).

    Raises ``ExportError`` naming the part that cannot be converted exactly, whatever failed.
    """
    try:
        return _export(pipeline)
    except ExportError:
        raise
    except Exception as err:  # skl2onnx's refusals (a step it has no converter for), the checker's findings
        raise ExportError(f"{type(err).__name__}: {err}") from err


def _export(pipeline) -> bytes:
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    categorical, numeric = input_columns(pipeline)
    register_converters()
    types = {
        **{c: StringTensorType([None, 1]) for c in categorical},
        **{c: DoubleTensorType([None, 1]) for c in numeric},
    }
    estimator = pipeline.steps[-1][1]
    plain_probabilities = {"zipmap": False}  # an array, not a list of dicts
    model = convert_sklearn(
        pipeline,
        initial_types=[(str(column), types[column]) for column in pipeline.feature_names_in_],
        target_opset={"": OPSET, ML_DOMAIN: 3},
        options={id(estimator): plain_probabilities} if hasattr(estimator, "classes_") else None,
    )
    for opset in model.opset_import:
        if opset.domain == ML_DOMAIN:
            opset.version = TREE_OPSET
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


# --- scoring -------------------------------------------------------------------------------------------------------


Records = Sequence[Mapping[str, Any]]


class OnnxPipeline:
    """The exported pipeline in onnxruntime, with scikit-learn's ``predict`` / ``predict_proba`` on a data frame.

    Both also take the records a request carries (dicts of column -> value, None for missing) and build the
    graph's inputs from them directly: no data frame on the serving path.
    """

    def __init__(self, model: bytes, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one row takes microseconds: waking a thread pool costs more
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        self.categorical = [i.name for i in inputs if i.type == "tensor(string)"]
        self.numeric = [i.name for i in inputs if i.type != "tensor(string)"]
        outputs = [o.name for o in self.session.get_outputs()]
        self._label, self._probabilities = outputs[0], outputs[-1]
        self.is_classifier = len(outputs) == 2

    def feed(self, data: pd.DataFrame | Records) -> dict[str, np.ndarray]:
        """The graph's inputs for a data frame or a list of records."""
        feed: dict[str, np.ndarray] = {}
        if isinstance(data, pd.DataFrame):
            for name in self.categorical:
                feed[name] = data[name].to_numpy(dtype=object, na_value=MISSING).reshape(-1, 1)
            numbers = data[self.numeric].to_numpy(dtype=np.float64).T  # one conversion for every numeric column
            for index, name in enumerate(self.numeric):
                feed[name] = np.ascontiguousarray(numbers[index]).reshape(-1, 1)
            return feed
        for name in self.categorical:
            feed[name] = np.array([[MISSING if (v := row[name]) is None else v] for row in data], dtype=object)
        for name in self.numeric:
            feed[name] = np.array([[np.nan if (v := row[name]) is None else v] for row in data], dtype=np.float64)
        return feed

    def predict(self, data: pd.DataFrame | Records) -> np.ndarray:
        return self.session.run([self._label], self.feed(data))[0].ravel()

    def predict_proba(self, data: pd.DataFrame | Records) -> np.ndarray:
        if not self.is_classifier:
            raise AttributeError("a regressor has no predict_proba")
        return self.session.run([self._probabilities], self.feed(data))[0]


# --- parity --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parity:
    """How far the export's predictions are from scikit-learn's on a frame, and whether that is close enough."""

    max_abs_diff: float
    rows: int
    tolerance: float = PARITY_TOLERANCE

    @property
    def holds(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff)) and self.max_abs_diff <= self.tolerance

    def describe(self) -> str:
        verdict = "within" if self.holds else "over"
        return (
            f"max |difference| {self.max_abs_diff:.3g} on {self.rows} rows, {verdict} the tolerance {self.tolerance:g}"
        )


def parity(scores, pipeline, exported: OnnxPipeline, frame: pd.DataFrame) -> Parity:
    """Compare ``scores(model, frame)`` (the task's scoring, e.g. ``TaskSpec.scores``) of both flavours."""
    if frame.empty:
        raise ValueError("parity needs at least one row")
    expected = np.asarray(scores(pipeline, frame), dtype=float)
    got = np.asarray(scores(exported, frame), dtype=float)
    if expected.shape != got.shape:
        return Parity(float("inf"), len(frame))
    both_missing = np.isnan(expected) & np.isnan(got)
    difference = np.where(both_missing, 0.0, np.abs(expected - got))
    return Parity(float(np.nanmax(np.where(np.isnan(difference), np.inf, difference))), len(frame))
