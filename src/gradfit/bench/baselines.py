"""The hand-written loops gradfit is measured against (``gradfit bench``).

Each is what a careful user would write without gradfit: the tutorial's PyTorch loop, a NumPy
loop with analytic gradients, and a lean mini-batch loop (seeded permutation, slicing,
``nn.Linear``, ``optim.SGD``, no DataLoader).
"""

from __future__ import annotations

import numpy as np


def tutorial_torch_loop(x: np.ndarray, y: np.ndarray, *, epochs: int = 1000, lr: float = 0.1,
                        device: str = "cpu") -> np.ndarray:
    """The tutorial's loop: ``b + w * x``, ``nn.MSELoss``, ``optim.SGD``; returns ``[b, w]``."""
    import torch
    from torch import nn, optim

    torch.manual_seed(42)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    x_t = torch.as_tensor(x, dtype=torch.float, device=device).view(-1, 1)
    y_t = torch.as_tensor(y, dtype=torch.float, device=device).view(-1, 1)
    optimizer = optim.SGD([b, w], lr=lr)
    loss_fn = nn.MSELoss(reduction="mean")
    for _ in range(epochs):
        yhat = b + w * x_t
        loss = loss_fn(yhat, y_t)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return np.array([b.item(), w.item()])


def numpy_loop(x: np.ndarray, y: np.ndarray, theta0: np.ndarray, *, epochs: int, lr: float) -> np.ndarray:
    """Full-batch GD with analytic gradients in NumPy, float64; returns ``[b, w1, …]``."""
    b, w = float(theta0[0]), theta0[1:].copy()  # (d,)
    n = len(y)
    for _ in range(epochs):
        error = b + x @ w - y  # (n,)
        b -= lr * 2.0 * error.mean()
        w -= lr * 2.0 * (x.T @ error) / n
    return np.concatenate([[b], w])


def lean_torch_minibatch(x: np.ndarray, y: np.ndarray, *, batch_size: int, epochs: int, lr: float,
                         seed: int = 42, device: str = "cpu") -> np.ndarray:
    """Mini-batch SGD as a lean hand-written loop: randperm + slicing + nn.Linear + optim.SGD."""
    import torch
    from torch import nn, optim

    torch.manual_seed(seed)
    model = nn.Linear(x.shape[1], 1).to(device)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    x_t = torch.as_tensor(x, dtype=torch.float, device=device)
    y_t = torch.as_tensor(y, dtype=torch.float, device=device).view(-1, 1)
    n = len(y)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(model(x_t[idx]), y_t[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return np.concatenate([model.bias.detach().cpu().numpy(), model.weight.detach().cpu().numpy().ravel()])


def memory_bandwidth(bytes_target: int = 400_000_000) -> float:
    """Bytes per second one core reads, from summing a large array (best of three)."""
    import time

    data = np.ones(bytes_target // 8)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        data.sum()
        best = min(best, time.perf_counter() - start)
    return data.nbytes / best


def pyarrow_pass(path: str, columns: list[str], rows: int) -> int:
    """One pass over a Parquet file as a careful user writes it: ``ParquetFile.iter_batches`` (PyArrow's
    defaults: columns decoded on its thread pool), each batch's columns copied into one float64
    ``(m, k)`` NumPy array. Returns the rows read."""
    import pyarrow.parquet as pq

    file, total = pq.ParquetFile(path), 0
    for batch in file.iter_batches(batch_size=rows, columns=columns):
        values = np.empty((batch.num_rows, len(columns)), order="F")  # (m, k)
        for j, column in enumerate(batch.columns):
            values[:, j] = column.to_numpy(zero_copy_only=False)
        total += len(values)
    file.close()
    return total
