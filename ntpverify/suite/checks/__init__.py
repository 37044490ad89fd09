"""Checks of the claim catalogue, one module per theme; each ``check_<ID>(inst, **params) -> Verdict``."""
