"""Soil pollution against national standards, gradient zoning, geohazard risk, land suitability, priority."""
