"""``gradfit bench``: speed and memory against hand-written baselines, as ratios measured in one run.

``suite.py`` holds the rows (each a gradfit timing beside its baseline's, alternated and repeated);
``baselines.py`` the hand-written loops they are measured against.
"""
