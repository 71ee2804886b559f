"""Formulas and categorical columns, through formulaic (a maintained, pandas-native successor of
patsy with the same formula language and statsmodels' term names).

``"y ~ x1 + C(g) + x1:x2 + np.log(x3)"`` on a DataFrame becomes the target and the design's
columns, named as statsmodels names them: ``C(g)[T.b]`` (treatment coding, the first sorted
level the reference), ``g[T.b]`` for a text column used as it is, ``x1:x2``, ``np.log(x3)``;
``True``/``False`` columns are 0/1. The intercept is the formula's (``0 +`` or ``- 1`` leaves it
out). Missing values are an error naming the column, unless ``dropna``.

What the design needs to be built again on new rows (the formula, each categorical factor's
levels and contrasts, the state of stateful transforms such as ``center(x)``) is kept as plain
JSON (:func:`spec_to_json`), so a saved model encodes new data exactly as its training data,
and a level it never saw is an error naming the column and the level.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import BadDataError, option
from .per_row import label_key, missing_labels

_UNSET = "__unset__"
# The formulaic classes a saved formula's state may name (the codings of categorical factors).
_CONTRASTS = {"ContrastsState", "TreatmentContrasts", "SumContrasts", "HelmertContrasts", "DiffContrasts",
              "PolyContrasts", "CustomContrasts"}


@dataclass(frozen=True)
class FormulaDesign:
    """The target and the design's columns (the intercept's left out) of a formula on a DataFrame."""

    x: np.ndarray  # (n, d)
    y: np.ndarray | None  # (n,), None without a left-hand side
    names: list[str]
    intercept: bool
    target: str | None
    spec: dict  # spec_to_json: what rebuilds the columns on new rows
    inputs: list[str]  # the DataFrame's columns the right-hand side reads


def formula_design(frame, formula: str, *, where: str = "data") -> FormulaDesign:
    """The design of ``formula`` on ``frame`` (a pandas DataFrame); ``where`` names it in messages.
    A missing value is an error (rows with missing values are dropped, when asked, before)."""
    model_matrix = _formulaic().model_matrix
    frame = _as_frame(frame, where)
    try:
        matrices = model_matrix(formula, frame, na_action="raise")
    except Exception as error:  # formulaic raises many kinds; each is the user's formula or data
        raise _formula_error(error, formula, where) from None
    rhs, lhs = (matrices.rhs, matrices.lhs) if hasattr(matrices, "rhs") else (matrices, None)
    names = [str(c) for c in rhs.columns]
    intercept = "Intercept" in names
    kept = [j for j, c in enumerate(names) if c != "Intercept"]
    if not kept:
        raise BadDataError(f"{where}: the formula {formula!r} has no terms besides the intercept; add some")
    y, target = None, None
    if lhs is not None:
        if lhs.shape[1] != 1:
            raise BadDataError(f"{where}: the formula {formula!r} has {lhs.shape[1]} targets; give one")
        y, target = np.asarray(lhs.iloc[:, 0], dtype=np.float64), str(lhs.columns[0])
    x = np.asarray(rhs.iloc[:, kept].to_numpy(dtype=np.float64))
    spec = {**spec_to_json(rhs.model_spec, where), "text": formula}
    return FormulaDesign(x, y, [names[j] for j in kept], intercept, target, spec, spec["inputs"])


def formula_variables(formula: str, where: str = "data") -> list[str]:
    """The names a formula reads (columns, and functions such as ``np``), without building it."""
    formulaic = _formulaic()  # (not inside the try: a missing formulaic says so itself)
    try:
        parsed = formulaic.Formula(formula)
    except Exception as error:  # formulaic's syntax errors: the user's formula
        raise _formula_error(error, formula, where) from None
    return sorted(str(name) for name in parsed.required_variables)


def formula_columns(frame, spec: dict, where: str = "data") -> np.ndarray:
    """The design's columns (the intercept's left out) of saved formula ``spec`` on new rows."""
    frame = _as_frame(frame, where)
    model_spec = spec_from_json(spec)
    missing = [name for name in spec["inputs"] if name not in frame.columns]
    if missing:
        raise BadDataError(f"{where} has no column {missing[0]!r}, which the model's formula {spec['formula']!r} "
                           f"reads; its columns are: {', '.join(map(str, frame.columns))}")
    _check_levels(frame, spec, where)
    try:
        matrix = model_spec.get_model_matrix(frame, na_action="raise")
    except Exception as error:
        raise _formula_error(error, spec["formula"], where) from None
    names = [str(c) for c in matrix.columns]
    if [n for n in names if n != "Intercept"] != spec["columns"]:
        raise BadDataError(f"{where}: the formula {spec['formula']!r} gives columns {names}, not the model's "
                           f"{spec['columns']}; refit the model")
    return np.asarray(matrix[spec["columns"]].to_numpy(dtype=np.float64))


def _check_levels(frame, spec: dict, where: str) -> None:
    """A level a categorical factor never saw in training is an error naming the column and it."""
    for factor, levels in spec["levels"].items():
        column = spec["factor_columns"].get(factor)
        if column is None or column not in frame.columns:
            continue
        known = {label_key(level) for level in levels}
        values = frame[column].to_numpy(dtype=object)
        for position, (value, missing) in enumerate(zip(values, missing_labels(values))):
            if not missing and label_key(value) not in known:  # (a missing value is the formula's to report)
                shown = ", ".join(map(repr, levels[:10])) + (", …" if len(levels) > 10 else "")
                raise BadDataError(f"{where}: data row {position + 1}, column {column!r} has the level {value!r}, "
                                   f"which the model never saw in training (its levels: {shown}); predict only rows "
                                   "with known levels")


# ----- the model spec as JSON --------------------------------------------------------------------

def spec_to_json(model_spec, where: str = "data") -> dict:
    """What rebuilds ``model_spec``'s columns, as plain JSON (formula, encoder and transform state)."""
    encoders, levels, factor_columns = {}, {}, {}
    variables = sorted(model_spec.variables_by_source.get("data", ()))
    for factor, (kind, state) in model_spec.encoder_state.items():
        encoders[factor] = {"kind": kind.value, "state": _plain(state, factor, where)}
        if "categories" in state:
            levels[factor] = _plain(list(state["categories"]), factor, where)
            inside = [v for v in variables if v == factor or f"({v}" in factor or f"`{v}`" in factor]
            if inside:
                factor_columns[factor] = inside[0]
    return {"formula": str(model_spec.formula), "encoders": encoders,
            "transforms": _plain(dict(model_spec.transform_state), "transform", where),
            "columns": [c for c in model_spec.column_names if c != "Intercept"], "levels": levels,
            "factor_columns": factor_columns, "inputs": variables}


def spec_from_json(spec: dict):
    """The formulaic ``ModelSpec`` :func:`spec_to_json` described."""
    formulaic = _formulaic()
    from formulaic.parser.types import Factor

    encoders = {factor: (Factor.Kind(entry["kind"]), _objects(entry["state"])) for factor, entry in
                spec["encoders"].items()}
    return formulaic.ModelSpec(formula=formulaic.Formula(spec["formula"]), encoder_state=encoders,
                               transform_state=_objects(spec["transforms"]))


def _plain(value, factor: str, where: str):
    """``value`` as JSON: numbers, text, lists, objects; formulaic's contrasts as tagged objects."""
    if isinstance(value, dict):
        return {str(k): _plain(v, factor, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, factor, where) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    if type(value).__name__ == "UNSET" or repr(value) == "UNSET":
        return _UNSET
    if dataclasses.is_dataclass(value):  # ContrastsState and the contrasts (TreatmentContrasts(base=…), …)
        fields = {f.name: _plain(getattr(value, f.name), factor, where) for f in dataclasses.fields(value)}
        return {"__class__": type(value).__name__, **fields}
    raise BadDataError(f"{where}: the formula term {factor!r} keeps state gradfit cannot save as JSON "
                       f"({type(value).__name__}); write the term another way")


def _objects(value):
    """The inverse of :func:`_plain`."""
    if isinstance(value, list):
        return [_objects(v) for v in value]
    if value == _UNSET:
        from formulaic.utils.sentinels import UNSET

        return UNSET
    if not isinstance(value, dict):
        return value
    if "__class__" in value:
        from formulaic.transforms import contrasts

        kind = getattr(contrasts, value["__class__"], None) if value["__class__"] in _CONTRASTS else None
        if kind is None:
            raise BadDataError(f"a model's formula names {value['__class__']!r}, which this formulaic does not have; "
                               "refit the model")
        return kind(**{k: _objects(v) for k, v in value.items() if k != "__class__"})
    return {k: _objects(v) for k, v in value.items()}


# ----- helpers ------------------------------------------------------------------------------------

def _formulaic():
    from ..errors import require

    require("formulaic")
    import formulaic

    return formulaic


def _as_frame(frame, where: str):
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, dict):
        return pd.DataFrame(frame)
    raise BadDataError(f"a formula needs a pandas DataFrame (or a dict of columns) as {where}, "
                       f"not {type(frame).__name__}")


def _formula_error(error: Exception, formula: str, where: str) -> BadDataError:
    import re

    text = " ".join(re.sub(r"\x1b\[[0-9;]*m|[⧛⧚]", "", str(error)).split())
    text = text.split(f" {formula}")[0] if formula in text else text  # (formulaic repeats the formula)
    if "null values" in text:
        name = text.split("`")[1] if text.count("`") >= 2 else "a column"
        return BadDataError(f"{where}: {name!r} has missing values; fill them in, or use "
                            f"{option('dropna', True)} to drop those rows")
    return BadDataError(f"{where}: the formula {formula!r} cannot be built: {text[:300]}")


# ----- what a saved formula may run ---------------------------------------------------------------

# A formula's terms are Python expressions, evaluated on the data. A formula the user types is the
# user's own code (as in statsmodels); one read from a model file is not, so its terms may use only
# the columns, numbers, arithmetic and these functions (NumPy's under ``np.``).
SAFE_FUNCTIONS = {"C", "I", "Q", "center", "scale", "standardize", "poly", "Treatment", "Sum", "Helmert", "Diff",
                  "Poly", "contr"}
SAFE_NUMPY = {"log", "log1p", "log2", "log10", "exp", "expm1", "sqrt", "abs", "square", "sin", "cos", "tan",
              "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "floor", "ceil", "round", "sign"}


def check_saved_formula(spec: dict, where: str, fix: str = "refit and save the model again") -> None:
    """Refuse a saved formula whose terms could run code beyond arithmetic on the columns."""
    parsed = _formulaic().Formula(spec["formula"])
    terms = getattr(parsed, "rhs", parsed)
    inputs = set(spec.get("inputs", []))
    for term in terms:
        for factor in term.factors:
            method = getattr(factor.eval_method, "value", str(factor.eval_method))
            if method == "literal" or (method == "lookup" and str(factor.expr) in inputs):
                continue
            if not _safe_expression(str(factor.expr), inputs):
                raise BadDataError(f"{where}: the model's formula term {str(factor.expr)!r} calls code that a model "
                                   "file may not carry (only the columns, numbers, arithmetic, C(), I(), center(), "
                                   f"scale() and NumPy's elementwise functions); {fix}")


def _safe_expression(expr: str, inputs: set[str]) -> bool:
    import ast

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load, ast.Call, ast.keyword,
               ast.Attribute, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Mod, ast.FloorDiv,
               ast.List, ast.Tuple)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            return False
        if isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "np" and node.attr in SAFE_NUMPY):
                return False
        if isinstance(node, ast.Name) and node.id not in inputs | SAFE_FUNCTIONS | {"np"}:
            return False
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id not in SAFE_FUNCTIONS:
                return False
            if not isinstance(func, (ast.Name, ast.Attribute)):
                return False
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
            return False
    return True
