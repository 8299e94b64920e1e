"""The pipeline that runs a project through every package; reports."""
