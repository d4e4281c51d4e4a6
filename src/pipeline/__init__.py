"""Helpers that the CI and CD workflows call: every pipeline decision, tested.

Not part of the shipped wheel or image; importable in the hatch environments.
"""
