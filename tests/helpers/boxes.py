"""Hand-made boxes with known IoUs, shared by the box-op and assigner tests."""

import torch

GT = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
# IoU with GT exactly 0.5, 0.6, 0.7, 0.4 and 0 (areas 200, 60, 70, 40 inside / around GT).
PROPOSALS = torch.tensor(
    [
        [0.0, 0.0, 10.0, 20.0],
        [0.0, 0.0, 10.0, 6.0],
        [0.0, 0.0, 10.0, 7.0],
        [0.0, 0.0, 10.0, 4.0],
        [50.0, 50.0, 60.0, 60.0],
    ]
)
