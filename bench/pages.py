"""Benchmark: server time and HTML size of the analysis pages on the synthetic demo.

    .venv/bin/python bench/pages.py

Each page (and two more heatmap views: the weekly slider, a personal group) is asked three
ways, through Flask's test client (server time, no network):
* first: a fresh process's first request of the period (figures computed from the tables);
* cached: the same request again (figures answered from the memo, keyed by the data version);
* peer, the naive recomputation: the same request with the memo emptied before each call,
  i.e. what every view cost when each page recomputed its figures.
The map layers the pages fetch afterwards (GeoJSON by bbox) are timed on their own lines.
Targets: every analysis page and /api/indicators under 300 ms once cached, patrol, risk
and planner under 500 ms; each page's HTML under 300 KB.
"""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _common import best_of, build_demo, machine_header  # noqa: E402

PAGES = (
    "/patrol",
    "/risk",
    "/planner",
    "/heatmap",
    "/heatmap?layer=patrol&weekly=1",
    "/heatmap?layer=group&group=elderly_alone",
    "/grid/",
    "/indicators",
    "/api/indicators",
)
# the layers a page fetches: dynamic GeoJSON layers and the heatmap's weekly slider
LAYER_URLS = (
    r'"url": "(/(?:patrol|risk|heatmap|indicators)/layers/[a-z0-9_.]+)"',
    r'GM\.withParams\("(/heatmap/layers/[a-z_]+)"',
)


def main() -> None:
    print(machine_header())
    url, password = build_demo()

    from geodata.db import memo
    from web.app import create_app

    from conftest import login

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    client = app.test_client()
    login(client, password)
    last = date.today().replace(day=1) - timedelta(days=1)
    month = f"{last.year}-{last.month:02d}"
    print(f"month {month} for the indicators; the analyses ask their default period\n")
    print(f"{'page':<44}{'first':>10}{'cached':>10}{'naive':>10}{'HTML':>10}  layers fetched")
    worst = {}
    for page in PAGES:
        path = page + (f"?period={month}" if "indicators" in page else "")
        query = path.partition("?")[2]
        memo.clear()
        first, resp = best_of(lambda p=path: client.get(p), repeat=1)
        assert resp.status_code == 200, (path, resp.status_code)
        cached, resp = best_of(lambda p=path: client.get(p), repeat=3)
        body = resp.get_data(as_text=True)

        def naive(p=path):
            memo.clear()
            return client.get(p)

        naive_s, _ = best_of(naive, repeat=1)
        layers = sorted({u for pattern in LAYER_URLS for u in re.findall(pattern, body)})
        print(
            f"{page:<44}{first * 1000:8.0f}ms{cached * 1000:8.0f}ms{naive_s * 1000:8.0f}ms"
            f"{len(body.encode()) / 1024:8.0f}KB  {len(layers)}",
            flush=True,
        )
        worst[page] = (cached, len(body.encode()))
        for layer in layers:
            q = f"{layer}?{query + '&' if query else ''}bbox=116,39,117,41&zoom=15"
            sec, r = best_of(lambda q=q: client.get(q), repeat=3)
            print(
                f"  {layer:<42}{'':>10}{sec * 1000:8.0f}ms{'':>10}"
                f"{len(r.get_data()) / 1024:8.0f}KB  (JSON)",
                flush=True,
            )
    slow = [
        p
        for p, (s, _) in worst.items()
        if s > (0.5 if p in ("/patrol", "/risk", "/planner") else 0.3)
    ]
    # the HTML pages; /api/indicators is the JSON of every row, for programs
    big = [p for p, (_, n) in worst.items() if n > 300 * 1024 and not p.startswith("/api/")]
    print(
        f"\nover the time target once cached: {', '.join(slow) or 'none'}; "
        f"pages over 300 KB: {', '.join(big) or 'none'}"
    )
    app.extensions["gridmap_engine"].dispose()


if __name__ == "__main__":
    main()
