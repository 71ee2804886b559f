"""An epoch's training loss, summed on the device so that an epoch costs one host sync."""

from __future__ import annotations

import torch


class EpochLossSum:
    """Σ (batch loss × batch rows) over an epoch, on the device and without a per-step tensor op:
    losses are kept and folded in with one product every ``FOLD`` steps.

    Parameters
    ----------
    dtype : torch.dtype
        The dtype of the sum (the model's).
    device : torch.device
        Where the batch losses are, and the sum is kept.

    Examples
    --------
    >>> total = EpochLossSum(torch.float64, torch.device("cpu"))
    >>> total.add(torch.tensor(2.0), rows=3); total.add(torch.tensor(0.5), rows=2)
    >>> float(total.value())
    7.0
    """

    FOLD = 4096

    def __init__(self, dtype: torch.dtype, device: torch.device) -> None:
        self.dtype, self.device = dtype, device
        self.total = torch.zeros((), dtype=dtype, device=device)
        self.losses: list[torch.Tensor] = []
        self.rows: list[int] = []

    def add(self, loss: torch.Tensor, rows: int) -> None:
        """Count a batch's mean ``loss`` (a 0-d tensor) over its ``rows`` rows."""
        self.losses.append(loss)
        self.rows.append(rows)
        if len(self.losses) == self.FOLD:
            self._fold()

    def _fold(self) -> None:
        if self.losses:
            weights = torch.tensor(self.rows, dtype=self.dtype, device=self.device)
            self.total = self.total + torch.stack(self.losses).to(self.dtype) @ weights
            self.losses, self.rows = [], []

    def value(self) -> torch.Tensor:
        """The sum so far, a 0-d tensor on the device (reading it is the host sync)."""
        self._fold()
        return self.total
