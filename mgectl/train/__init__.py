"""Train: the loop, its run directory, checkpoints, devices and processes."""
