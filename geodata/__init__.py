"""geodata: every file format, OSM, database and other I/O around the pure ``gridmap`` core."""
