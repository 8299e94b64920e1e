"""Ecosystem-service value (equivalent factors), GEP, raster engine, value stages."""
