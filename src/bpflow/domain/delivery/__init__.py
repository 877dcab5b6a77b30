"""Delivered dataset bundles: checks run on what has already been handed to customers."""
