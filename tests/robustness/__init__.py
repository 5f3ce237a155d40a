"""Issue 13 robustness tests (a package: its test file names repeat those of tests/train)."""
