"""Security headers, the script nonce, and the login/session rules, through Flask's client."""

import re

import pytest

from conftest import login

SCRIPT = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def _nonce(response) -> str:
    csp = response.headers["Content-Security-Policy"]
    return re.search(r"'nonce-([^']+)'", csp).group(1)


def test_headers_on_the_login_page(demo_app):
    r = demo_app.test_client().get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline' " not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/", "/risk", "/hazards/", "/patrol", "/planner"])
def test_every_script_of_a_page_carries_this_responses_nonce(demo_app, demo_db, path):
    client = demo_app.test_client()
    assert login(client, demo_db[1]).status_code == 302
    r = client.get(path)
    assert r.status_code == 200
    nonce = _nonce(r)
    tags = SCRIPT.findall(r.get_data(as_text=True))
    inline = [t for t in tags if "src=" not in t]
    assert inline, "the page has inline scripts"
    assert all(f'nonce="{nonce}"' in t for t in inline), [t for t in inline if nonce not in t]
    markup = re.sub(r"<script\b.*?</script>", "", r.get_data(as_text=True), flags=re.S)
    assert re.findall(r"<[^>]*\son[a-z]+\s*=", markup) == []  # no inline handlers
    assert "javascript:" not in markup
    assert _nonce(client.get(path)) != nonce  # fresh per response
