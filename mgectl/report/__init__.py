"""Report: console tables, plots and gradient tables; subscribers to training events."""
