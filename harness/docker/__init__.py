"""The Docker side: the daemon (the user's or the harness's own), task image builds, service
containers, image names, handing files back to a non-root user."""
