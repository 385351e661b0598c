"""Machinery the lessons import: data, training loops, plotting, benchmarking, launchers.

Lessons never import each other; anything a later lesson reuses lives here.
"""
