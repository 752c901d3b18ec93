"""The layers gridmap holds, said once: their fields, parents, geometry and names.

The importer, the exporter, the demo store, the command line's choices, the upload page's
labels and the map layers all read :data:`REGISTRY`; adding a column to a layer is one
edit here (the database column itself comes with its migration)::

    spec = REGISTRY.spec("key-sites")        # aliases too; unknown names are refused
    spec.fields                              # ('category', 'address', ...)
    REGISTRY.field("target_households").short  # 'target_hh' (Shapefile's ten characters)

No SQL here: a layer names its table, and ``geodata`` finds the model for it.
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
        """The field's name for people, in ``lang`` ("zh" or "en")."""
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
        """The layer's name for people, in ``lang`` ("zh" or "en")."""
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
        """The layer names, in loading order (parents first)."""
        return list(self.layers)

    def choices(self) -> list[str]:
        """What the command line accepts for a layer: the names and their hyphenated forms."""
        return [*self.layers, *(w for w in self.words if "-" in w)]

    def spec(self, name: str) -> LayerSpec:
        """The layer called ``name`` (or one of its words); refuses unknown names."""
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
        """The field called ``name``."""
        return self.fields[name]

    def headings(self) -> dict[str, tuple[str, ...]]:
        """Field -> the column headings files use for it (the common dictionary)."""
        return {f.name: f.names for f in self.fields.values()}

    def export_names(self) -> dict[str, str]:
        """Field -> its export column name, for the fields whose name is too long."""
        return {f.name: f.export for f in self.fields.values() if f.export}

    def with_field(self, layer: str, new: Field) -> Registry:
        """A copy in which ``layer`` also stores ``new`` (added to the field table)."""
        spec = self.layers[layer]
        layers = {**self.layers, layer: replace(spec, fields=(*spec.fields, new.name))}
        return Registry(
            (*(f for f in self.fields.values() if f.name != new.name), new),
            tuple(layers.values()),
            words=self.words,
            map_layers=self.map_layers,
        )

    def without_field(self, layer: str, name: str) -> Registry:
        """A copy in which ``layer`` no longer stores field ``name`` (which leaves the field
        table too when no other layer reads it)."""
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


def _f(
    name: str,
    kind: str,
    zh: str,
    en: str,
    *names: str,
    export: str | None = None,
    mask: str | None = None,
) -> Field:
    return Field(name, kind, zh, en, (name, *names), export, mask)


# Field -> the names it goes by in files (compared after normalisation: case, spaces,
# underscores, hyphens and brackets ignored, full-width folded to half-width).
FIELDS: tuple[Field, ...] = (
    _f(
        "code",
        "text",
        "编码",
        "code",
        "编码",
        "代码",
        "编号",
        "adcode",
        "admincode",
        "admin_code",
        "区划代码",
        "行政区划代码",
        "统计用区划代码",
        "bm",
        "dm",
    ),
    _f(
        "name",
        "text",
        "名称",
        "name",
        "名称",
        "名字",
        "mc",
        "name_zh",
        "namezh",
        "中文名",
        "中文名称",
        "标准名称",
        "道路名称",
        "路名",
    ),
    _f(
        "address",
        "text",
        "地址",
        "address",
        "addr",
        "地址",
        "详细地址",
        "门牌地址",
        "楼栋地址",
        "dz",
    ),
    _f(
        "category",
        "text",
        "类别",
        "category",
        "类别",
        "类型",
        "分类",
        "种类",
        "场所类别",
        "设施类别",
        "lb",
        "type",
        "fclass",
    ),
    _f(
        "leader",
        "text",
        "网格长",
        "leader",
        "网格长",
        "网格员",
        "负责人",
        "网格员姓名",
        "网格长姓名",
    ),
    _f(
        "leader_phone",
        "text",
        "网格员电话",
        "leader's phone",
        "leaderphone",
        "leader_tel",
        "网格员电话",
        "网格长电话",
        "网格员手机",
        "负责人电话",
        export="leader_tel",
        mask="phone",
    ),
    _f("households", "int", "户数", "households", "户数", "住户数", "总户数", "hs"),
    _f(
        "target_households",
        "int",
        "目标户数",
        "target households",
        "target_hh",
        "目标户数",
        "标准户数",
        "户数标准",
        export="target_hh",
    ),
    _f(
        "community",
        "ref",
        "所属社区",
        "community",
        "community_code",
        "所属社区",
        "社区",
        "社区编码",
        "社区代码",
        "所属社区编码",
    ),
    _f(
        "street",
        "ref",
        "所属街道",
        "street",
        "street_code",
        "所属街道",
        "街道",
        "街道编码",
        "街道代码",
        "乡镇街道",
    ),
    _f(
        "district",
        "ref",
        "所属区县",
        "district",
        "district_code",
        "所属区县",
        "区县",
        "区县编码",
        "所属区",
    ),
    _f("grid", "ref", "所属网格", "grid", "grid_code", "所属网格", "网格", "网格编码", "网格代码"),
    _f(
        "compound",
        "ref",
        "所属小区",
        "compound",
        "compound_code",
        "所属小区",
        "小区",
        "小区编码",
        "院落",
    ),
    _f(
        "building",
        "ref",
        "所属楼栋",
        "building",
        "building_code",
        "楼栋编码",
        "楼栋编号",
        "所属楼栋",
        "建筑编码",
    ),
    _f(
        "household",
        "ref",
        "所属户",
        "household",
        "household_code",
        "户编码",
        "户号",
        "家庭编号",
        "所属户",
    ),
    _f("kind", "text", "类型", "kind", "网格类型", "出入口类型"),
    _f(
        "highway",
        "road_class",
        "道路等级",
        "road class",
        "道路等级",
        "道路类别",
        "道路类型",
        "road_class",
        "roadclass",
    ),
    _f("foot", "text", "步行", "foot", "步行"),
    _f("access", "text", "通行", "access", "通行"),
    _f("floors", "int", "层数", "floors", "层数", "楼层数", "地上层数", "总层数", "cs"),
    _f("use", "text", "用途", "use", "用途", "房屋用途", "建筑用途"),
    _f("unit", "text", "单元", "unit", "单元", "单元号"),
    _f("floor", "int", "楼层", "floor", "楼层", "所在楼层", "所在层"),
    _f("room", "text", "房号", "room", "房号", "室", "门牌号", "房间号"),
    _f("size", "int", "人口数", "household size", "人口数", "家庭人数", "户人口", "人数"),
    _f("tags", "tags", "标签", "tags", "标签", "人员类别", "特殊人群", "户类别"),
    _f(
        "id_number",
        "text",
        "身份证号",
        "ID number",
        "idnumber",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "证件号码",
    ),
    _f("phone", "text", "电话", "phone", "tel", "电话", "手机", "联系电话", "手机号码", "联系方式"),
    _f("birth_year", "int", "出生年份", "birth year", "出生年份", "出生年"),
    _f("sex", "sex", "性别", "sex", "gender", "性别"),
    _f("capacity", "int", "容量", "capacity", "容量", "规模", "床位数", "座位数"),
    _f(
        "inspection_interval_days",
        "int",
        "巡检周期",
        "inspection interval (days)",
        "interval",
        "巡检周期",
        "检查周期",
        "检查周期天",
        export="interval",
    ),
    _f("severity", "text", "等级", "severity", "等级", "隐患等级", "严重程度"),
    _f("status", "text", "状态", "status", "状态", "处置状态", "办理状态"),
    _f(
        "description",
        "text",
        "描述",
        "description",
        "descr",
        "描述",
        "隐患描述",
        "情况说明",
        "备注说明",
        export="descr",
    ),
    _f("found_at", "time", "发现时间", "found at", "发现时间", "上报时间", "登记时间"),
    _f("deadline", "time", "整改期限", "deadline", "整改期限", "期限", "办结时限"),
    _f("closed_at", "time", "结案时间", "closed at", "结案时间", "办结时间"),
    _f("reporter", "text", "上报人", "reporter", "上报人", "发现人", mask="name"),
    _f(
        "responsible",
        "text",
        "责任人",
        "responsible",
        "responsib",
        "责任人",
        "整改责任人",
        export="responsib",
    ),
    _f("patroller", "text", "巡查人", "patroller", "巡查人", "巡逻人", "巡查员", "人员"),
    _f("time", "time", "时间", "time", "时间", "定位时间", "采集时间", "timestamp", "datetime"),
    _f("track", "text", "轨迹", "track", "track_id", "轨迹", "轨迹编号", "轨迹号"),
    _f("started_at", "time", "开始时间", "started at", "started", "开始时间", "巡查开始时间"),
    _f("props", "text", "其他属性", "other attributes"),
)


def _p(field_: str, column: str, layer: str, locate: str | None = "area") -> Parent:
    return Parent(field_, column, layer, locate)


_HAZARD_FIELDS = (
    "category",
    "severity",
    "status",
    "description",
    "found_at",
    "deadline",
    "closed_at",
    "reporter",
    "responsible",
)

LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        "districts",
        "district",
        "polygon",
        (),
        prefix="D-",
        boundary=True,
        label=N_("districts"),
        title_zh="区县",
        title_en="Districts",
        names={"code": ("区县编码", "区县代码", "区划代码"), "name": ("区县名称", "区县", "区名")},
    ),
    LayerSpec(
        "streets",
        "street",
        "polygon",
        (),
        (_p("district", "district_id", "districts"),),
        prefix="S-",
        boundary=True,
        label=N_("streets"),
        title_zh="街道",
        title_en="Streets",
        names={
            "code": ("街道编码", "街道代码", "乡镇代码"),
            "name": ("街道名称", "街道", "乡镇名称", "街道乡镇"),
        },
    ),
    LayerSpec(
        "communities",
        "community",
        "polygon",
        (),
        (_p("street", "street_id", "streets"),),
        prefix="C-",
        boundary=True,
        label=N_("communities"),
        title_zh="社区",
        title_en="Communities",
        names={
            "code": ("社区编码", "社区代码", "居委会代码", "村居代码"),
            "name": ("社区名称", "社区", "居委会名称", "村居名称"),
        },
    ),
    LayerSpec(
        "grids",
        "grid",
        "polygon",
        ("kind", "leader", "leader_phone", "target_households"),
        (_p("community", "community_id", "communities"),),
        extra=("households",),
        prefix="G-",
        boundary=True,
        label=N_("grids"),
        title_zh="网格",
        title_en="Grids",
        names={
            "code": ("网格编码", "网格代码", "网格编号", "gridcode"),
            "name": ("网格名称", "网格名"),
        },
    ),
    LayerSpec(
        "compounds",
        "compound",
        "polygon",
        (),
        (_p("community", "community_id", "communities"),),
        prefix="CP-",
        label=N_("compounds"),
        title_zh="小区",
        title_en="Compounds",
        names={"code": ("小区编码", "小区代码"), "name": ("小区名称", "小区", "院落名称")},
    ),
    # Streets and paths for the walking network. A path belongs to a compound only when the
    # file says so: a street along a compound's edge must not be taken inside it.
    LayerSpec(
        "roads",
        "road",
        "line",
        ("highway", "foot", "access"),
        (_p("compound", "compound_id", "compounds", None),),
        prefix="R-",
        name_required=False,
        label=N_("roads"),
        title_zh="道路和步行路径",
        title_en="Roads and paths",
    ),
    LayerSpec(
        "gates",
        "gate",
        "point",
        ("kind",),
        (_p("compound", "compound_id", "compounds", "near"),),
        prefix="GT-",
        name_required=False,
        label=N_("gates"),
        title_zh="出入口",
        title_en="Gates",
        names={"code": ("出入口编码",), "name": ("出入口名称", "门名称")},
    ),
    LayerSpec(
        "buildings",
        "building",
        "polygon",
        ("address", "floors", "use"),
        (_p("compound", "compound_id", "compounds"), _p("grid", "grid_id", "grids")),
        prefix="B-",
        name_required=False,
        label=N_("buildings"),
        title_zh="楼栋",
        title_en="Buildings",
        names={
            "code": ("楼栋编码", "楼栋编号", "建筑编码"),
            "name": ("楼栋名称", "楼名"),
            "use": ("类别", "类型"),
        },
    ),
    LayerSpec(
        "households",
        "household",
        None,
        ("unit", "floor", "room", "size", "tags"),
        owner=_p("building", "building_id", "buildings", None),
        extra=("building", "address"),
        prefix="H-",
        named=False,
        name_required=False,
        personal=True,
        label=N_("households"),
        title_zh="住户",
        title_en="Households",
        names={"code": ("户编码", "户号", "家庭编号", "房屋编码")},
    ),
    LayerSpec(
        "residents",
        "resident",
        None,
        ("id_number", "phone", "birth_year", "sex", "tags"),
        owner=_p("household", "household_id", "households", None),
        extra=("household", "building", "address", "unit", "room"),
        coded=False,
        personal=True,
        label=N_("residents"),
        title_zh="居民",
        title_en="Residents",
        names={"name": ("姓名", "居民姓名"), "tags": ("人员类别", "标签", "特殊人群")},
    ),
    LayerSpec(
        "key_sites",
        "key_site",
        "point",
        ("category", "address", "inspection_interval_days"),
        (_p("grid", "grid_id", "grids"),),
        prefix="KS-",
        scoped=True,
        label=N_("key sites"),
        title_zh="重点场所",
        title_en="Key sites",
        names={"code": ("场所编码",), "name": ("场所名称", "单位名称")},
    ),
    LayerSpec(
        "facilities",
        "facility",
        "point",
        ("category", "capacity"),
        prefix="F-",
        label=N_("facilities"),
        title_zh="服务设施",
        title_en="Facilities",
        names={"code": ("设施编码",), "name": ("设施名称", "机构名称")},
    ),
    LayerSpec(
        "patrol_tracks",
        "patrol_track",
        "line",
        ("patroller",),
        (_p("grid", "grid_id", "grids"),),
        extra=("time", "track", "started_at"),
        derived=("started_at", "ended_at", "times"),
        prefix="PT-",
        named=False,
        name_required=False,
        personal=True,
        label=N_("patrol tracks"),
        title_zh="巡查轨迹",
        title_en="Patrol tracks",
        names={"code": ("轨迹编号", "轨迹编码"), "patroller": ("name", "姓名", "名称")},
    ),
    LayerSpec(
        "hazards",
        "hazard",
        "point",
        _HAZARD_FIELDS,
        (_p("grid", "grid_id", "grids"),),
        prefix="HZ-",
        named=False,
        name_required=False,
        personal=True,
        label=N_("hazards"),
        title_zh="隐患",
        title_en="Hazards",
        names={
            "code": ("隐患编号", "案件编号", "隐患编码"),
            "category": ("隐患类别", "类别", "类型"),
        },
    ),
)

WORDS = {
    "key-sites": "key_sites",
    "keysites": "key_sites",
    "sites": "key_sites",
    "patrol-tracks": "patrol_tracks",
    "patrols": "patrol_tracks",
    "tracks": "patrol_tracks",
    "district": "districts",
    "street": "streets",
    "community": "communities",
    "grid": "grids",
    "compound": "compounds",
    "gate": "gates",
    "building": "buildings",
    "household": "households",
    "resident": "residents",
    "facility": "facilities",
    "hazard": "hazards",
    "road": "roads",
    "streetlines": "roads",
}

REGISTRY = Registry(
    FIELDS,
    LAYERS,
    words=WORDS,
    map_layers=(
        "districts",
        "streets",
        "communities",
        "grids",
        "buildings",
        "roads",
        "facilities",
        "key_sites",
        "hazards",
    ),
)
