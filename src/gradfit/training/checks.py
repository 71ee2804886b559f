"""The tutorial's traps, caught before they cost a silent wrong answer (used by :class:`gradfit.Trainer`).

- an output of shape ``(n, 1)`` against targets of shape ``(n,)``: ``nn.MSELoss`` broadcasts
  them to ``(n, n)`` and returns a wrong loss (with at most a warning);
- a tensor made with ``requires_grad=True`` and then moved (``.to(device)``): the result is not a
  leaf, its ``.grad`` stays ``None``, and no optimizer can update it;
- parameters the loss does not depend on: they silently never change;
- data on one device, the model on another;
- a 1-D ``x`` (or rows of the wrong width) fed to ``nn.Linear``: PyTorch's "mat1 and mat2 shapes
  cannot be multiplied" becomes one line naming both shapes and the fix.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import BadDataError, BadModelError, BadOptionError, GradfitError, NoGradientWarning

# Losses computed element by element: output and target must have the same shape, since any
# difference broadcasts silently. (Classification losses take (n, C) outputs and (n,) labels.)
ELEMENTWISE_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss,
                      nn.PoissonNLLLoss, nn.SoftMarginLoss)
ELEMENTWISE_FUNCTIONS = (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy,
                         F.binary_cross_entropy_with_logits, F.poisson_nll_loss, F.soft_margin_loss)


def shape_check_applies(loss_fn) -> bool:
    """Whether ``loss_fn`` compares output and target element by element."""
    return isinstance(loss_fn, ELEMENTWISE_LOSSES) or any(loss_fn is f for f in ELEMENTWISE_FUNCTIONS)


def output_shape_error(output: torch.Tensor, target: torch.Tensor, loss_fn) -> BadDataError:
    """The error for an output whose shape is not the target's (the broadcasting trap)."""
    out_shape, target_shape = tuple(output.shape), tuple(target.shape)
    name = getattr(type(loss_fn), "__name__", "the loss")
    name = getattr(loss_fn, "__name__", name)
    try:
        wide = tuple(torch.broadcast_shapes(output.shape, target.shape))
        what = f"{name} would broadcast them to {wide} and return a wrong loss without an error"
    except RuntimeError:
        what = f"{name} cannot compare them"
    if out_shape == target_shape + (1,):
        fix = "reshape the targets to the output's shape (y.reshape(-1, 1)) or squeeze the output (output.squeeze(-1))"
    elif target_shape == out_shape + (1,):
        fix = "reshape the output to the targets' shape (output.unsqueeze(-1)) or flatten the targets (y.reshape(-1))"
    else:
        fix = "make the model's output and the targets the same shape"
    return BadDataError(f"the model's output has shape {out_shape} but the targets have shape {target_shape}: "
                        f"{what}; {fix}")


# PyTorch's words when a layer's input rows (mat1: rows x features) do not meet its weight
# (mat2: in_features x out_features), e.g. nn.Linear(1, 1) fed x of shape (80,).
MATMUL_SHAPES = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def forward(model: nn.Module, x: torch.Tensor, label: str = "x") -> torch.Tensor:
    """``model(x)``; PyTorch's matrix-shape error becomes :func:`matmul_shape_error` (chained)."""
    try:
        return model(x)
    except RuntimeError as error:
        mine = matmul_shape_error(error, x, label)
        if mine is None:
            raise
        raise mine from error


def matmul_shape_error(error: RuntimeError, x: torch.Tensor, label: str = "x") -> GradfitError | None:
    """gradfit's one line for PyTorch's "mat1 and mat2 shapes cannot be multiplied (…)" raised by
    the model on ``x`` (named ``label``): both shapes and the fix; ``None`` for any other error.

    A :class:`BadDataError` when ``x``'s rows are what did not fit, a :class:`BadModelError` when
    the rows that did not fit were made inside the model (its layers do not fit together)."""
    found = MATMUL_SHAPES.search(str(error))
    if found is None or not isinstance(x, torch.Tensor) or x.dim() == 0:
        return None
    rows, width, features, outputs = (int(g) for g in found.groups())
    shape, said = tuple(x.shape), f"PyTorch: {found.group(0)}"
    takes = f"a layer of the model takes rows of {features} feature{'s' if features != 1 else ''}"
    if x.dim() == 1 and (rows, width) == (1, shape[0]):
        fix = (f"a 1-D x is read as one row of {shape[0]} features; for one feature per row pass x.reshape(-1, 1) "
               f"(shape ({shape[0]}, 1))" if features == 1 else
               f"a 1-D x is read as one row; pass (n, {features}) rows (x.reshape(-1, {features}))")
    elif x.dim() >= 2 and width == shape[-1] and rows == int(np.prod(shape[:-1])):
        fix = (f"pass (n, {features}) rows, or build the layer for rows of {width} "
               f"(nn.Linear({width}, {outputs}))")
    else:
        return BadModelError(f"the model's layers do not fit together: {takes} but gets rows of {width} made inside "
                             f"the model ({said}; {label} has shape {shape}); make each layer's in_features the "
                             "previous layer's out_features")
    return BadDataError(f"{label} has shape {shape}, but {takes} ({said}); {fix}")


def model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """The device and floating dtype of the model's first parameter (or buffer)."""
    tensors = list(model.parameters()) or list(model.buffers())
    if not tensors:
        raise BadModelError(f"the model {type(model).__name__} has no parameters to train: register them with "
                            "nn.Parameter (or use layers such as nn.Linear)")
    floating = [t for t in tensors if t.is_floating_point()]
    return tensors[0].device, (floating[0].dtype if floating else torch.get_default_dtype())


def to_model_tensor(data, label: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Arrays become tensors on the model's device (floats in its dtype); tensors must already be there."""
    if isinstance(data, torch.Tensor):
        if data.device != device:
            raise BadDataError(f"{label} is on device {data.device} but the model is on {device}: put them on the "
                               f"same device, e.g. move the data with .to('{device}') or the model with "
                               f"model.to('{data.device}')")
        return data.to(dtype) if data.is_floating_point() and data.dtype != dtype else data
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as error:
        raise BadDataError(f"{label} cannot be read as an array ({error})") from None
    if array.dtype.kind == "f":
        return torch.as_tensor(array, dtype=dtype, device=device)
    if array.dtype.kind in "biu":
        return torch.as_tensor(array, device=device)
    raise BadDataError(f"{label} has dtype {array.dtype}; give numbers (a float or integer array)")


def check_tensor_attributes(model: nn.Module) -> None:
    """Refuse tensor attributes that require gradients but are not registered parameters.

    A non-leaf one (``torch.randn(1, requires_grad=True).to(device)``) can never be trained; a
    leaf one is missed by ``model.parameters()``, ``state_dict()`` (so by every checkpoint) and
    ``model.to()``.
    """
    for module_name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if not (isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter) and value.requires_grad):
                continue
            name = f"{module_name}.{attribute}" if module_name else attribute
            if not value.is_leaf:
                raise BadModelError(
                    f"model attribute {name!r} is not a leaf tensor: it was computed (e.g. moved with .to(device) "
                    "after requires_grad=True), so backward() never fills its .grad and no optimizer can update it; "
                    f"create it on its device (torch.randn(..., requires_grad=True, device=device)) or, better, "
                    f"wrap it in nn.Parameter (self.{attribute} = nn.Parameter(torch.randn(...)))")
            raise BadModelError(
                f"model attribute {name!r} is a tensor with requires_grad=True but not an nn.Parameter, so "
                "model.parameters(), state_dict() (and so checkpoints) and model.to() miss it; wrap it in "
                f"nn.Parameter (self.{attribute} = nn.Parameter(...))")


def make_optimizer(optimizer, model: nn.Module, parameters, lr: float | None) -> torch.optim.Optimizer:
    """The optimizer: as given, from a factory ``params -> Optimizer``, or by name (``sgd``, ``adam``)."""
    names = parameter_names(model)
    if isinstance(optimizer, torch.optim.Optimizer):
        for option, value in (("parameters", parameters), ("lr", lr)):
            if value is not None:
                raise BadOptionError(option, value, "applies only when the Trainer builds the optimizer",
                                     "set it on the optimizer you built, or pass the optimizer by name")
        _check_leaves([p for group in optimizer.param_groups for p in group["params"]], names)
        return optimizer
    params = list(model.parameters()) if parameters is None else list(parameters)
    _check_leaves(params, names)
    if not params:
        raise BadModelError("there are no parameters to train: register them with nn.Parameter (or pass "
                            "parameters=[...])")
    if isinstance(optimizer, str):
        kind = optimizer.strip().lower()
        if kind not in ("sgd", "adam"):
            raise BadOptionError("optimizer", optimizer, "unknown optimizer", "choose sgd or adam, or pass a "
                                 "torch.optim.Optimizer")
        if lr is None:
            raise BadOptionError("lr", lr, "a learning rate is needed when the optimizer is given by name",
                                 f"e.g. Trainer(model, loss_fn, {kind!r}, lr=0.1, ...)")
        return torch.optim.Adam(params, lr=lr) if kind == "adam" else torch.optim.SGD(params, lr=lr)
    if callable(optimizer):
        return optimizer(params)
    raise BadOptionError("optimizer", type(optimizer).__name__, "must be a torch.optim.Optimizer, a factory "
                         "params -> Optimizer, or 'sgd'/'adam'")


def parameter_names(model: nn.Module) -> dict[int, str]:
    """``id(tensor) -> name`` for the model's parameters and its tensor attributes."""
    names = {id(p): name for name, p in model.named_parameters()}
    for module_name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, torch.Tensor):
                names.setdefault(id(value), f"{module_name}.{attribute}" if module_name else attribute)
    return names


def _check_leaves(params: list, names: dict[int, str]) -> None:
    for i, p in enumerate(params):
        name = names.get(id(p), f"#{i} (shape {tuple(p.shape)})" if isinstance(p, torch.Tensor) else f"#{i}")
        if not isinstance(p, torch.Tensor):
            raise BadModelError(f"parameter {name} handed to the optimizer is a {type(p).__name__}, not a tensor")
        if not p.is_leaf:
            raise BadModelError(
                f"parameter {name!r} handed to the optimizer is not a leaf tensor: it was computed (e.g. moved with "
                ".to(device) after requires_grad=True), so its .grad stays None and it can never be updated; create "
                "it on its device (torch.randn(..., requires_grad=True, device=device)) or wrap it in nn.Parameter")


def check_gradients(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """Warn about parameters the optimizer holds that ``backward()`` gave no gradient."""
    names = parameter_names(model)
    missing = [names.get(id(p), f"#{i} (shape {tuple(p.shape)})")
               for i, p in enumerate(p for group in optimizer.param_groups for p in group["params"])
               if p.requires_grad and p.grad is None]
    if missing:
        warnings.warn(
            f"parameter(s) {', '.join(missing)} got no gradient from backward(): the loss does not depend on them, "
            "so the optimizer never changes them; use them in forward(), or leave them out of the optimizer "
            "(or set requires_grad=False)", NoGradientWarning, stacklevel=4)
