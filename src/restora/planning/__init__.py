"""Restoration plans: works by site and zone, quantities, after-use land cover."""
