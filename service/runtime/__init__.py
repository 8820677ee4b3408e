"""What the running service holds: the scoring service (model slot, cache, micro-batcher), recent
scores for label suggestions, Prometheus metrics, memory tuning, and the retraining job runner."""
