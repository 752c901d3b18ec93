"""The `gridmap` command line."""
