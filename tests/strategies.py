"""Hypothesis strategies for the gradient tests of test_layers.py and
test_losses.py (how many examples: the profiles in conftest.py)."""

from hypothesis import strategies as st

dims = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
scales = st.floats(min_value=0.1, max_value=5.0)
