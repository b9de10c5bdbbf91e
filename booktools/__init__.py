"""booktools: the machinery that turns the book's Quarto chapters into notebooks,
golden outputs, checks, an HTML preview and student/instructor notebooks.

Run ``python -m booktools --help``. The engine (``mlsysim``) never imports this package.
"""
