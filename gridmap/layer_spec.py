"""The shape of gridmap's layer table: a field, a parent link, a layer and the registry that
holds them by name. The table itself is :data:`gridmap.layers.REGISTRY`; this module is also
re-exported by :mod:`gridmap.layers`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from gridmap.notes import N_, rejected

KINDS = ("text", "int", "time", "ref", "tags", "sex", "road_class")
GEOMETRIES = ("polygon", "point", "line", None)
SHAPEFILE_NAME_MAX = 10  # dBase column names


@dataclass(frozen=True)
class Field:
    """One field a file may give.

    ``kind`` says how a cell is read: text, int (a number, '6层' -> 6), time (a date and
    time), ref (the code of another layer's row), tags (a list of vocabulary codes), sex,
    road_class (an OSM highway value). ``names`` are the column headings files use for it
    (compared case-, space- and width-blind); ``export`` is the heading an export writes when
    the field's own name is longer than a Shapefile column may be (it is one of ``names``,
    so an export imports again). ``mask``: 'phone' or 'name', masked in exports to roles that
    do not manage people.
    """

    name: str
    kind: str
    zh: str
    en: str
    names: tuple[str, ...] = ()
    export: str | None = None
    mask: str | None = None

    @property
    def short(self) -> str:
        """The column name of this field in an export (at most ten characters)."""
        return self.export or self.name

    @property
    def json_type(self) -> str:
        """The JSON type of its values ("integer" or "string")."""
        return "integer" if self.kind == "int" else "string"

    def label(self, lang: str) -> str:
        """The field's name for people.

        Parameters
        ----------
        lang : str
            "zh" or "en".

        Returns
        -------
        str
            The Chinese or English name.
        """
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Parent:
    """A layer's parent: ``field`` holds its code, ``column`` is the foreign key, ``layer``
    the parent layer; ``locate`` finds it for rows without a code ('area': the parent polygon
    holding the row; 'near': the nearest within 30 m; None: never by location)."""

    field: str
    column: str
    layer: str
    locate: str | None = "area"


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its table, geometry kind (polygon, point, line or None for a table), the
    ``fields`` stored as columns, ``parents`` found by code or location, ``owner`` (the row a
    geometry-less layer hangs on), ``extra`` fields the importer reads but does not store,
    ``derived`` columns the importer computes (stored and exported), the code ``prefix`` of
    generated codes (``coded``: whether rows have codes at all), ``label`` (a message word, translatable), titles for people, whether
    the rows are about people (``personal``), are shown only inside the requester's areas
    although not personal (``scoped``) or are area boundaries (``boundary``), and
    layer-specific column headings (``names``: field -> headings, tried before the common
    ones)."""

    name: str
    table: str
    geometry: str | None
    fields: tuple[str, ...]
    parents: tuple[Parent, ...] = ()
    owner: Parent | None = None
    extra: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    prefix: str = ""
    label: str = ""
    title_zh: str = ""
    title_en: str = ""
    coded: bool = True
    named: bool = True
    name_required: bool = True
    personal: bool = False
    scoped: bool = False
    boundary: bool = False
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def allowed(self) -> set[str]:
        """Every field a file may map a column to for this layer."""
        out = {"name", *self.fields, *(p.field for p in self.parents), *self.extra}
        if self.coded:
            out.add("code")
        return out

    @property
    def geometry_type(self) -> str:
        """The GeoJSON/OGR geometry type of its features (tables: their building's point)."""
        return {"polygon": "MultiPolygon", "point": "Point", "line": "LineString", None: "Point"}[
            self.geometry
        ]

    def title(self, lang: str) -> str:
        """The layer's name for people.

        Parameters
        ----------
        lang : str
            "zh" or "en".

        Returns
        -------
        str
            The Chinese or English title.
        """
        return self.title_zh if lang == "zh" else self.title_en


class Registry:
    """Fields and layers by name, the words people use for the layers, and the layers
    drawn on the map (in drawing order)."""

    def __init__(
        self,
        fields: tuple[Field, ...],
        layers: tuple[LayerSpec, ...],
        *,
        words: dict[str, str],
        map_layers: tuple[str, ...],
    ) -> None:
        self.fields = {f.name: f for f in fields}
        self.layers = {s.name: s for s in layers}
        self.words = dict(words)
        self.map_layers = tuple(map_layers)
        self._check()

    def _check(self) -> None:
        for f in self.fields.values():
            if f.kind not in KINDS or len(f.short) > SHAPEFILE_NAME_MAX:
                raise ValueError(f"field {f.name}: kind {f.kind!r}, export name {f.short!r}")
        for s in self.layers.values():
            unknown = [f for f in (*s.fields, *s.extra) if f not in self.fields]
            if unknown or s.geometry not in GEOMETRIES:
                raise ValueError(f"layer {s.name}: unknown fields {unknown} or geometry")

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self.layers.values())

    def __contains__(self, name: object) -> bool:
        return name in self.layers

    def __getitem__(self, name: str) -> LayerSpec:
        return self.layers[name]

    def names(self) -> list[str]:
        """The layer names, in loading order (parents first).

        Returns
        -------
        list of str
            The names.
        """
        return list(self.layers)

    def choices(self) -> list[str]:
        """What the command line accepts for a layer: the names and their hyphenated forms.

        Returns
        -------
        list of str
            The names, then the hyphenated words.
        """
        return [*self.layers, *(w for w in self.words if "-" in w)]

    def spec(self, name: str) -> LayerSpec:
        """The layer called ``name`` (or one of its words); refuses unknown names.

        Parameters
        ----------
        name : str
            A layer name or a word for it ("key-sites", "grid" ...), any case.

        Returns
        -------
        LayerSpec
            The layer.
        """
        key = str(name).strip().lower()
        key = self.words.get(key, key)
        if key not in self.layers:
            raise rejected(
                N_("unknown layer {layer!r}; choose one of {layers}"),
                layer=name,
                layers=", ".join(self.layers),
            )
        return self.layers[key]

    def field(self, name: str) -> Field:
        """The field called ``name``.

        Parameters
        ----------
        name : str
            The field's name.

        Returns
        -------
        Field
            The field (KeyError when unknown).
        """
        return self.fields[name]

    def headings(self) -> dict[str, tuple[str, ...]]:
        """Field -> the column headings files use for it (the common dictionary).

        Returns
        -------
        dict of str to tuple of str
            The headings of every field.
        """
        return {f.name: f.names for f in self.fields.values()}

    def export_names(self) -> dict[str, str]:
        """Field -> its export column name, for the fields whose name is too long.

        Returns
        -------
        dict of str to str
            The export names.
        """
        return {f.name: f.export for f in self.fields.values() if f.export}

    def with_field(self, layer: str, new: Field) -> Registry:
        """A copy in which ``layer`` also stores ``new`` (added to the field table).

        Parameters
        ----------
        layer : str
            The layer's name.
        new : Field
            The field to add (replaces a field of the same name).

        Returns
        -------
        Registry
            The new registry; this one is unchanged.
        """
        spec = self.layers[layer]
        layers = {**self.layers, layer: replace(spec, fields=(*spec.fields, new.name))}
        return Registry(
            (*(f for f in self.fields.values() if f.name != new.name), new),
            tuple(layers.values()),
            words=self.words,
            map_layers=self.map_layers,
        )

    def without_field(self, layer: str, name: str) -> Registry:
        """A copy in which ``layer`` no longer stores a field.

        The field leaves the field table too when no other layer reads it.

        Parameters
        ----------
        layer : str
            The layer's name.
        name : str
            The field's name.

        Returns
        -------
        Registry
            The new registry; this one is unchanged.
        """
        spec = self.layers[layer]
        layers = {
            **self.layers,
            layer: replace(spec, fields=tuple(f for f in spec.fields if f != name)),
        }
        used = {
            f for s in layers.values() for f in (*s.fields, *s.extra, *(p.field for p in s.parents))
        }
        fields = tuple(f for f in self.fields.values() if f.name != name or name in used)
        return Registry(
            fields, tuple(layers.values()), words=self.words, map_layers=self.map_layers
        )
