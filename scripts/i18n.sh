#!/usr/bin/env bash
# Refresh the message catalogue after changing interface strings:
#   extract -> merge into web/translations/zh -> compile the .mo the app loads.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
"$PYBABEL" extract -F babel.cfg -k _ -k N_ -k gettext -k lazy_gettext -k ngettext:1,2 --no-location --sort-output -o web/translations/messages.pot .
if [[ -f web/translations/zh/LC_MESSAGES/messages.po ]]; then
  "$PYBABEL" update -i web/translations/messages.pot -d web/translations -l zh --no-fuzzy-matching
else
  "$PYBABEL" init -i web/translations/messages.pot -d web/translations -l zh
fi
"$PYBABEL" compile -d web/translations --statistics
