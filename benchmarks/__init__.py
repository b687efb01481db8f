"""Public facility-location benchmarks (OR-Library CAP, Holmberg SSCFLP) converted to scenarios.

See :mod:`benchmarks.instances` and DESIGN.md section 3 ("Properties the model must have").
"""
