"""What a fit or solve returns, and its forms for people and files.

``types.py``: ``FitResult``, ``SolveResult`` (and the streamed one), ``Params``, ``History``;
``sweep_result.py``: ``SweepResult``, the list of ``SweepRun`` that ``gradfit.sweep`` returns;
``engine_run.py``: the raw record an engine hands back; ``report.py``: the terminal report;
``display.py``: short reprs and notebook (HTML) tables; ``json_form.py``: the one JSON writer
(non-finite numbers as ``null``); ``diagnostics.py``: why a run counts as not converged;
``model_file.py``: saved models (JSON); ``prediction_inputs.py``: what a model predicts from
(a DataFrame by column name, an array by position); ``fit_figures.py``: the figures
``FitResult.plot_losses``/``plot_fit``/``plot_path`` return, on ``canvas.py`` (Agg figures, which
``inline_figure.py`` lets a notebook show inline; atomic saves) and ``loss_surface.py`` (the MSE
over (b, w), paths on it), reading ``figure_inputs.py`` (here, not in ``figures/``, so that the
result's methods can return them).
"""
