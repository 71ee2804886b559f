"""What a fit or solve returns, and its forms for people and files.

``types.py``: ``FitResult``, ``SolveResult`` (and the streamed one), ``Params``, ``History``;
``engine_run.py``: the raw record an engine hands back; ``report.py``: the terminal report;
``diagnostics.py``: why a run counts as not converged; ``model_file.py``: saved models (JSON).
"""
