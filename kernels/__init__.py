"""Triton kernels (lesson 04 onwards). Each file: reference, kernel, wrapper, tests, benchmark."""
