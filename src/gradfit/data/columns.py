"""Which columns of a file are read: the target and the features, checked against its header.

A message names the options in the caller's words (``target``/``features=`` from Python,
``--target``/``--features`` from the command line: :func:`gradfit.errors.option`).
"""

from __future__ import annotations

import difflib

from ..errors import BadDataError, option


def require_column(source, name: str | None, option_name: str) -> str | None:
    """``name`` (a column another option names: ``cluster``, ``weights``) when ``source`` has it."""
    if name is not None and name not in source.columns:
        raise BadDataError(f"{source.path}: no column {name!r} for {option(option_name)}; the columns are: "
                           f"{_listing(source.columns)}")
    return name


def choose_columns(source, target: str | None, features: list[str] | None,
                   require_target: bool, exclude: tuple[str, ...] = ()) -> tuple[list[str], str | None]:
    """The feature columns and the target (``None``: not read) of ``source``, checked.

    ``source`` has ``path``, ``columns`` (the header's names), ``where_header`` and optionally
    ``index_columns`` (left out of the default features). The rules are those of
    :func:`gradfit.data.files.read_table`.
    """
    path, columns = source.path, source.columns
    if target is None and require_target:
        raise BadDataError(f"{path}: a data file needs {option('target', 'COL')}; the columns are: {_listing(columns)}")
    if target is not None and target not in columns:
        if require_target:
            raise BadDataError(
                f"{path}: no column {target!r} for {option('target')}{_suggest(target, columns)}; "
                f"the columns are: {_listing(columns)}"
            )
        target = None  # prediction: the file need not hold the target
    if features is None:
        features = [name for name in _default_features(source, target) if name not in exclude]
    else:
        features = list(features)
        _check_features(path, columns, features, target)
    _check_names(source, features + ([target] if target is not None else []))
    return features, target


def _default_features(source, target: str | None) -> list[str]:
    """Every column but the target (and a pandas index saved in a Parquet file)."""
    path, columns = source.path, source.columns
    if target is None:
        example = option("features", "A,B", python="features=['A', 'B']")
        raise BadDataError(
            f"{path}: without a target column, name the feature columns ({example}); "
            f"the columns are: {_listing(columns)}"
        )
    features = [c for c in columns if c != target and c not in getattr(source, "index_columns", ())]
    if not features:
        raise BadDataError(
            f"{path}: the target {target!r} is the only column, so no feature columns remain; "
            "add feature columns to the file"
        )
    return features


def _check_features(path: str, columns: list[str], features: list[str], target: str | None) -> None:
    """The given features: some, each in the file, each once, not the target."""
    flag = option("features")
    if not features:
        raise BadDataError(f"{path}: {flag} is empty; list at least one column of: {_listing(columns)}")
    unknown = [f for f in features if f not in columns]
    if unknown:
        shown = ", ".join(f"{f!r}{_suggest(f, columns)}" for f in unknown)
        noun = "column" if len(unknown) == 1 else "columns"
        raise BadDataError(f"{path}: no {noun} {shown} for {flag}; the columns are: {_listing(columns)}")
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        shown = ", ".join(map(repr, repeated))
        raise BadDataError(f"{path}: {flag} lists {shown} more than once; list each column once")
    if target in features:
        raise BadDataError(
            f"{path}: column {target!r} is the target and is also in {flag}; "
            f"a column cannot predict itself: remove it from {flag}"
        )


def _check_names(source, used: list[str]) -> None:
    """Each used column has a name, and the header has it once."""
    for name in used:
        places = [i + 1 for i, c in enumerate(source.columns) if c == name]
        if name.strip() == "":
            raise BadDataError(
                f"{source.path}: column {places[0]} has no name in {source.where_header}, perhaps a saved row "
                f"index; name it, or choose the feature columns with {option('features')}"
            )
        if len(places) > 1:
            raise BadDataError(
                f"{source.path}: column name {name!r} appears {len(places)} times (columns "
                f"{', '.join(map(str, places))}) in {source.where_header}; give each column a unique name"
            )


def _suggest(name: str, columns: list[str]) -> str:
    folded = [c for c in columns if c.strip().lower() == name.strip().lower()]
    close = folded or difflib.get_close_matches(name, columns, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _listing(columns: list[str], limit: int = 20) -> str:
    shown = [c if c and c == c.strip() and "," not in c else repr(c) for c in columns[:limit]]
    more = f", … ({len(columns) - limit} more)" if len(columns) > limit else ""
    return ", ".join(shown) + more
