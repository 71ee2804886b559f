"""The training workflow: the Trainer for any ``nn.Module`` and what acts at epoch boundaries.

``trainer.py`` (``Trainer``: train → epoch → batch → step) over ``inputs.py`` (data onto the
model's device), ``epoch_loss.py``, ``data_parallel.py`` (DDP) and ``checks.py`` (the tutorial's
traps); ``callbacks.py`` (early stopping, checkpoints, TensorBoard, progress); ``control.py``
(callbacks and checkpoints for the numpy and exact engines); ``checkpoint.py`` (safe files,
resume checks); ``divergence.py``; ``lr_range.py`` (the learning-rate range test); ``traps.py``
(the walk-through's PyTorch traps, run live: ``gradfit traps``).
"""
