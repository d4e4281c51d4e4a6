"""Helpers that the CI and CD workflows call: every pipeline decision, tested.

Not part of the service's wheel or image. The jobs install them as the
``service-pipeline`` distribution (``toolkit/``), without what only local
runs and tests need (the local Sigstore authority, the local runners).
"""
