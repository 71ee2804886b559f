"""Values published with the tutorial (PRODUCT.md), reproduced independently of gradfit."""

# Published with the tutorial (PRODUCT.md), reproduced independently.
CLOSED_FORM = (1.02354075, 1.96896447)
NUMPY_START = (0.49671415, -0.1382643)
NUMPY_END = (1.02354094, 1.96896411)
NUMPY_FIRST_MSE = 2.7421577700550976
NUMPY_FIRST_GRADS = (-3.044811, -1.833754)
TORCH_START = (0.3367, 0.1288)
TORCH_FIRST_GRADS = (-3.1125, -1.8156)
TORCH_END = (1.0235, 1.9690)
TORCH_FINAL_MSE = 0.008044655
LINEAR_START = (0.8300, 0.7645)  # (b, w) of nn.Linear(1, 1) after torch.manual_seed(42)
LR_MAX_STABLE = 0.8055

