"""Physics layer: small pure functions, one equation each.

Inputs and outputs are plain floats or numpy arrays in SI units (seconds, bytes,
FLOPs, watts, joules). Each docstring states the equation and cites its source
by references.bib key.
"""
