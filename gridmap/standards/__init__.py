"""Standards and local targets as data files (YAML) shipped with gridmap.

Reachability rules: ``gridmap.standards.rules`` (GB 50180-2018, TD/T 1062-2021,
完整居住社区建设标准（试行）, local targets).
"""
