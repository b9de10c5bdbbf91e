"""Core layer: units, errors and input validation shared by the whole engine."""
