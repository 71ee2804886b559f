"""One fit, as named stages: what :func:`gradfit.fit`, :func:`gradfit.solve` and the command line run.

``prepare.py`` (arrays, datasets, files → a data source) → ``sources.py`` (where the rows are:
in memory, shared among processes, streamed) → ``references.py`` (the least-squares problem of
the training rows: dense or sufficient statistics) → ``run.py`` (scaling, engine, learning rate,
start, control, training, result). ``solving.py`` is ``solve``; ``sweep.py`` runs one fit per
learning rate over one shared reference.
"""
