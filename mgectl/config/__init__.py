"""Config: YAML text -> validated pydantic sections -> ExperimentConfig."""
