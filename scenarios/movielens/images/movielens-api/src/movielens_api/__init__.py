"""The ratings API of the MovieLens scenario."""
