"""Pictures of a result (they read results; they never change one).

``plots.py`` writes ``--plot DIR`` (losses, fit, path) over ``canvas.py`` (figures, atomic PNGs)
and ``inputs.py`` (what a figure reads from a result, the short re-runs); ``surface.py`` draws
the loss surface and paths, ``modes.py`` batch vs mini-batch vs stochastic, ``lr_figures.py``
the learning-rate figures; ``graph.py`` the autograd graph (torchviz).
"""
