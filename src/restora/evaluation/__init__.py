"""Policy evaluation: indicators over sets of projects, regional disparity, policy effect, and
the coordination record (docs/evaluation.md)."""
