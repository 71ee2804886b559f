"""Pictures of a result (they read results; they never change one).

``plots.py`` writes ``--plot DIR``: the fit's own figures (losses, fit, path: drawn in
``gradfit.results.fit_figures``, which ``FitResult.plot_*`` return, on ``results/canvas.py`` and
``results/loss_surface.py``; ``canvas.py`` and ``surface.py`` here re-export those), ``modes.py``
batch vs mini-batch vs stochastic, ``animation.py`` the path and the modes as GIFs,
``lr_figures.py`` the learning-rate figures; ``inputs.py`` the short re-runs they make;
``graph.py`` the autograd graph (torchviz).
"""
