"""Interface language: Simplified Chinese by default, English on request.

Message ids are English; web/translations holds the Chinese catalogue. The
choice comes from ?lang=, then the session, then the user's saved locale.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

from gridmap import vocab

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
        return lang
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    user = g.get("user")
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    return DEFAULT_LANGUAGE


def current_lang() -> str:
    """The interface language of this request ("zh" or "en")."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def action_labels() -> dict[str, str]:
    """What each hazard-case action is called, in the interface language."""
    return {
        "report": _("Reported"),
        "file": _("File the case"),
        "assign": _("Assign"),
        "handle": _("Record handling"),
        "reinspect": _("Re-inspection passed"),
        "reinspect_fail": _("Re-inspection failed"),
        "close": _("Close the case"),
        "dismiss": _("Dismiss (no hazard or duplicate)"),
        "comment": _("Add a note"),
        "escalate": _("Escalated (overdue)"),
    }


def init_app(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories="translations",
    )

    @app.context_processor
    def _language():
        return {"lang": current_lang(), "languages": LANGUAGES}


def error_text(exc: Exception) -> str:
    """An error's message in the interface language: errors raised with a translatable note
    (gridmap.messages.fail, gridmap.notes.rejected) are rendered through the catalogue,
    with role, status and action codes in their parameters shown as their labels."""
    note = getattr(exc, "note", None)
    if note is None:
        return str(exc)
    lang = current_lang()
    terms = {
        "role": vocab.ROLES,
        "status": vocab.HAZARD_STATUSES,
        "category": vocab.HAZARD_CATEGORIES,
        "severity": vocab.HAZARD_SEVERITIES,
    }
    params = dict(note.params)
    for key, vocabulary in terms.items():
        if isinstance(params.get(key), str):
            params[key] = vocab.label(vocabulary, params[key], lang)
    if isinstance(params.get("action"), str):
        params["action"] = action_labels().get(params["action"], params["action"])
    return type(note)(note.template, params).render(_)
