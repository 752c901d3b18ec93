"""Map-provider POI types (Amap 大类;中类;小类, Baidu 一级;二级) -> gridmap categories.

The table is data: ``poi_categories.yaml`` beside this module, cited to the providers'
published classifications. :func:`classify` takes a cell as the provider wrote it
('医疗保健服务;综合医院;三级甲等医院', or several types joined by '|') and returns the
decision with the dictionary key that made it, so a report can show why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from gridmap import vocab
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

EXCLUDE = "exclude"
TABLE = "poi_categories.yaml"
LAYER_CODES = {"facilities": vocab.FACILITY_CODES, "key_sites": vocab.KEY_SITE_CODES}


@dataclass(frozen=True)
class Decision:
    category: str | None  # a category code; None when excluded
    key: str  # the dictionary entry that decided ('医疗保健服务;综合医院')
    provider: str  # 'amap' | 'baidu'

    @property
    def excluded(self) -> bool:
        """Whether the point is not a facility of any category."""
        return self.category is None


def _path(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"[;；]", text) if p.strip())


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[tuple[str, ...], tuple[str, str]]]:
    raw = yaml.safe_load(resources.files("gridmap.standards").joinpath(TABLE).read_text("utf-8"))
    out: dict[str, dict[tuple[str, ...], tuple[str, str]]] = {}
    for layer, providers in raw.items():
        codes = LAYER_CODES[layer]
        entries: dict[tuple[str, ...], tuple[str, str]] = {}
        for provider, mapping in providers.items():
            for key, value in mapping.items():
                if value != EXCLUDE and value not in codes:
                    raise fail(
                        InvalidInput,
                        N_(
                            "{table}: {layer}.{provider}.{key}: {value!r} is not a {layer} category"
                        ),
                        table=TABLE,
                        layer=layer,
                        provider=provider,
                        key=key,
                        value=value,
                    )
                entries[_path(str(key))] = (str(value), str(provider))
        out[layer] = entries
    return out


def covers(layer: str) -> bool:
    """Whether the shipped table has entries for ``layer``.

    Parameters
    ----------
    layer : str
        The layer's name.

    Returns
    -------
    bool
        True when some entry classifies that layer.
    """
    return layer in _table()


def classify(layer: str, value: str) -> Decision | None:
    """The shipped table's decision for one cell.

    Parameters
    ----------
    layer : str
        The layer's name.
    value : str
        The cell (an Amap or Baidu type, e.g. '医疗保健服务;综合医院').

    Returns
    -------
    Decision or None
        The category decided; None when no entry covers it.
    """
    entries = _table().get(layer)
    if not entries or not value:
        return None
    for alternative in str(value).split("|"):
        path = _path(alternative)
        for n in range(len(path), 0, -1):
            hit = entries.get(path[:n])
            if hit is not None:
                category, provider = hit
                return Decision(
                    None if category == EXCLUDE else category, ";".join(path[:n]), provider
                )
    return None
