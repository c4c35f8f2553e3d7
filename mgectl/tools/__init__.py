"""Tools built on the stages above: predict, gradient checks of a config."""
