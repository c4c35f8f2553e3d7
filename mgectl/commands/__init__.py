"""One module per mgectl verb; each imports only light modules at top level (fast --help)."""
