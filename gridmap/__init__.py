"""gridmap: pure domain model and analysis for community grid governance.

This package holds no web, SQL or file-format code: it takes and returns plain
Python objects, NumPy arrays and GeoDataFrames. I/O lives in ``geodata``; the
Flask service lives in ``web``.
"""

__version__ = "0.1.0"
