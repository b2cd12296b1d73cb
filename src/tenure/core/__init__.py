"""The pure core: no framework, no I/O."""
