"""Test aids (the simulated device, per-device checks); the library never imports them."""
