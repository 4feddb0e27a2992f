"""Rank movies by their ratings."""
