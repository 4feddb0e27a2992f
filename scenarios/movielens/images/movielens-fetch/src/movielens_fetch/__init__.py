"""Fetch ratings from the MovieLens API."""
