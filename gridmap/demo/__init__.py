"""Demo street offices: a synthetic one (seeded, offline) and one built from OSM."""
