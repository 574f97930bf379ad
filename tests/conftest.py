"""Shared test settings: small thread count and fast hypothesis profiles."""

import torch
from hypothesis import settings

torch.set_num_threads(2)
settings.register_profile("rhoproof", max_examples=25, deadline=None)
settings.load_profile("rhoproof")
