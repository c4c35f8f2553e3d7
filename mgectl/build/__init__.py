"""Build: ExperimentConfig -> data, model, loss function, optimizer and scheduler."""
