"""The commands of ``python -m pipeline``, grouped by the workflow that calls them."""
