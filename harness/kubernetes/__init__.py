"""The Kubernetes side: the kind cluster and existing clusters, manifests and their workloads,
watching pods, claims, the session's image registry."""
