"""Development-only code: tiny offline model checkpoints and synthetic demo articles, for tests,
benchmarks and `make demo`. The job itself never imports it."""
