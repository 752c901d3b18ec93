"""The Chinese catalogue is complete and current: every interface string extracted from the
code has a translation (none empty, none fuzzy, placeholders kept), and the compiled .mo the
app loads says exactly what the .po says."""

import gettext
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "web/translations/zh/LC_MESSAGES/messages.po"
MO = ROOT / "web/translations/zh/LC_MESSAGES/messages.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _catalog():
    with PO.open("rb") as f:
        return read_po(f)


def test_every_message_is_translated_and_none_is_fuzzy():
    cat = _catalog()
    entries = [m for m in cat if m.id]
    assert len(entries) > 500
    untranslated = [m.id for m in entries if not m.string]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == [] and fuzzy == []
    wrong = [
        m.id
        for m in entries
        if sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))
    ]
    assert wrong == []


def test_the_catalogue_holds_every_string_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "N_",
            "-k",
            "gettext",
            "-k",
            "lazy_gettext",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    known = {m.id for m in _catalog() if m.id}
    missing = sorted(extracted - known, key=str)
    assert missing == [], "run scripts/i18n.sh and translate: " + repr(missing[:10])


def test_the_compiled_catalogue_is_current():
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for m in _catalog():
        if not m.id or not m.string:
            continue
        if isinstance(m.id, tuple):
            assert compiled.ngettext(m.id[0], m.id[1], 1) == m.string[0]
        else:
            assert compiled.gettext(m.id) == m.string, m.id
