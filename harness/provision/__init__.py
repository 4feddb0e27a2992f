"""What a machine without registries lacks, produced here, each step cached."""
