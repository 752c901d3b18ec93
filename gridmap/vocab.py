"""Controlled vocabularies: roles, categories, tags and statuses.

Codes are stable ASCII identifiers stored in the database; labels are for
display (Simplified Chinese first, English second). Numbers here such as
inspection intervals are editable local defaults, not law.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol


class Term(NamedTuple):
    code: str
    zh: str
    en: str


def _codes(terms: tuple[Term, ...]) -> frozenset[str]:
    return frozenset(t.code for t in terms)


class Labelled(Protocol):
    """Anything with a stable ``code`` and its ``zh`` and ``en`` labels."""

    @property
    def code(self) -> str:
        """The stable code stored in the database."""

    @property
    def zh(self) -> str:
        """The Chinese label."""

    @property
    def en(self) -> str:
        """The English label."""


def labels(terms: Iterable[Labelled], lang: str) -> dict[str, str]:
    """Code -> display label for every term (anything with ``code``, ``zh`` and ``en``).

    Parameters
    ----------
    terms : iterable of Labelled
        The terms.
    lang : str
        "zh", else English.

    Returns
    -------
    dict of str to str
        The labels by code.
    """
    return {t.code: t.zh if lang == "zh" else t.en for t in terms}


def label(terms: Iterable[Labelled], code: str, lang: str = "zh") -> str:
    """Display label of ``code`` in ``terms``; the code itself when unknown.

    Parameters
    ----------
    terms : iterable of Labelled
        The terms.
    code : str
        The code to name.
    lang : str
        "zh", else English.

    Returns
    -------
    str
        The label.
    """
    return labels(terms, lang).get(code, code)


# --- staff roles -----------------------------------------------------------
ROLES = (
    Term("admin", "系统管理员", "Administrator"),
    Term("street_staff", "街道工作人员", "Street-office staff"),
    Term("community_staff", "社区工作人员", "Community staff"),
    Term("grid_leader", "网格长/网格员", "Grid leader"),
    Term("planner", "规划人员", "Planner"),
    Term("viewer", "只读用户", "Viewer"),
)
ROLE_CODES = _codes(ROLES)

# --- buildings ---------------------------------------------------------------
BUILDING_USES = (
    Term("residential", "住宅", "Residential"),
    Term("mixed", "商住", "Mixed use"),
    Term("commercial", "商业", "Commercial"),
    Term("office", "办公", "Office"),
    Term("public", "公共服务", "Public service"),
    Term("industrial", "工业", "Industrial"),
    Term("other", "其他", "Other"),
)
BUILDING_USE_CODES = _codes(BUILDING_USES)

# --- sensitive group tags on residents and households ------------------------
# Age groups (60+, 65+, 80+, minors) are derived from birth year, not tagged.
RESIDENT_TAGS = (
    Term("living_alone", "独居", "Living alone"),
    Term("empty_nest", "空巢", "Empty nest"),
    Term("disabled", "残疾", "Disabled"),
    Term("hypertension", "高血压", "Hypertension"),
    Term("diabetes", "糖尿病", "Diabetes"),
    Term("severe_mental_illness", "严重精神障碍", "Severe mental illness"),
    Term("low_income", "低保", "Minimum living allowance"),
    Term("extreme_poverty", "特困", "Extreme poverty support"),
    Term("left_behind_child", "留守儿童", "Left-behind child"),
    Term("key_person", "重点人员", "Key person under oversight"),
    Term("community_correction", "社区矫正", "Community correction"),
    Term("migrant", "流动人口", "Migrant"),
    Term("registered_elsewhere", "人户分离", "Registered elsewhere"),
    Term("pregnant", "孕产妇", "Pregnant"),
)
RESIDENT_TAG_CODES = _codes(RESIDENT_TAGS)

HOUSEHOLD_TAGS = (
    Term("elderly_alone", "独居老人户", "Elderly living alone"),
    Term("empty_nest", "空巢户", "Empty-nest household"),
    Term("low_income", "低保户", "Low-income household"),
    Term("disabled", "残疾人户", "Household with disabled member"),
    Term("rental", "出租户", "Rented"),
    Term("vacant", "空置", "Vacant"),
)
HOUSEHOLD_TAG_CODES = _codes(HOUSEHOLD_TAGS)

SEXES = (Term("M", "男", "Male"), Term("F", "女", "Female"))


# --- key sites (重点场所) with inspection interval in days (local default) ----
class KeySiteCategory(NamedTuple):
    code: str
    zh: str
    en: str
    inspection_interval_days: int


KEY_SITE_CATEGORIES = (
    KeySiteCategory("small_venue", "三小场所", "Small shop / salon / cafe", 30),
    KeySiteCategory("restaurant", "餐饮场所", "Restaurant", 30),
    KeySiteCategory("internet_cafe", "网吧", "Internet cafe", 14),
    KeySiteCategory("entertainment", "娱乐场所", "Entertainment venue", 14),
    KeySiteCategory("farmers_market", "农贸市场", "Farmers' market", 14),
    KeySiteCategory("school", "学校", "School", 30),
    KeySiteCategory("kindergarten", "幼儿园", "Kindergarten", 30),
    KeySiteCategory("construction_site", "建筑工地", "Construction site", 7),
    KeySiteCategory("hazardous_chemicals", "危险化学品场所", "Hazardous chemicals", 7),
    KeySiteCategory("major_hazard", "重大危险源", "Major hazard source", 7),
    KeySiteCategory("old_building", "老旧房屋", "Old building", 90),
    KeySiteCategory("fire_hydrant", "消防栓", "Fire hydrant", 90),
    KeySiteCategory("fire_station", "微型消防站", "Mini fire station", 30),
    KeySiteCategory("cctv", "视频监控点", "CCTV point", 90),
    KeySiteCategory("nursing_home", "养老机构", "Nursing home", 14),
)
KEY_SITE_CODES = frozenset(c.code for c in KEY_SITE_CATEGORIES)
INSPECTION_INTERVAL_DAYS = {c.code: c.inspection_interval_days for c in KEY_SITE_CATEGORIES}

INSPECTION_RESULTS = (
    Term("ok", "正常", "OK"),
    Term("issue_found", "发现问题", "Issue found"),
    Term("closed_site", "场所关闭", "Site closed"),
)
INSPECTION_RESULT_CODES = _codes(INSPECTION_RESULTS)


# --- service facilities: GB 50180-2018 life-circle lists ---------------------
class FacilityCategory(NamedTuple):
    code: str
    zh: str
    en: str
    level_min: int  # life-circle level (5, 10, 15 minutes) the standard lists it under


FACILITY_CATEGORIES = (
    FacilityCategory("junior_middle_school", "初中", "Junior middle school", 15),
    FacilityCategory("sports_large", "大型多功能运动场地", "Large sports ground", 15),
    FacilityCategory("health_center", "社区卫生服务中心", "Community health service centre", 15),
    FacilityCategory("clinic", "门诊部", "Outpatient clinic", 15),
    FacilityCategory("nursing_home", "养老院", "Nursing home", 15),
    FacilityCategory("cultural_center", "文化活动中心", "Cultural centre", 15),
    FacilityCategory("street_service_center", "街道服务中心", "Street service centre", 15),
    FacilityCategory("police_station", "派出所", "Police station", 15),
    FacilityCategory("shopping", "商场", "Shopping centre", 15),
    FacilityCategory("bank", "银行营业网点", "Bank", 15),
    FacilityCategory("post_office", "邮政营业场所", "Post office", 15),
    FacilityCategory("metro_station", "轨道交通站点", "Metro station", 15),
    FacilityCategory("primary_school", "小学", "Primary school", 10),
    FacilityCategory("sports_medium", "中型多功能运动场地", "Medium sports ground", 10),
    FacilityCategory("wet_market", "菜市场或生鲜超市", "Wet market / fresh supermarket", 10),
    FacilityCategory("supermarket", "小型超市", "Small supermarket", 10),
    FacilityCategory("bus_stop", "公交车站", "Bus stop", 10),
    FacilityCategory("community_service_station", "社区服务站", "Community service station", 5),
    FacilityCategory("canteen", "社区食堂", "Community canteen", 5),
    FacilityCategory("culture_station", "文化活动站", "Culture station", 5),
    FacilityCategory("sports_small", "小型多功能运动场地", "Small sports ground", 5),
    FacilityCategory("fitness", "室外综合健身场地", "Outdoor fitness", 5),
    FacilityCategory("kindergarten", "幼儿园", "Kindergarten", 5),
    FacilityCategory("nursery", "托儿所", "Nursery", 5),
    FacilityCategory("elderly_daycare", "老年人日间照料中心", "Elderly day-care centre", 5),
    FacilityCategory("health_station", "社区卫生服务站", "Community health station", 5),
    FacilityCategory("convenience_store", "便利店", "Convenience store", 5),
    FacilityCategory("recycling", "再生资源回收点", "Recycling point", 5),
    FacilityCategory("refuse", "生活垃圾收集站", "Refuse collection point", 5),
    FacilityCategory("toilet", "公共厕所", "Public toilet", 5),
    FacilityCategory("parking", "非机动车及机动车停车场", "Parking", 5),
    FacilityCategory("express", "快递服务站", "Parcel station", 5),
    # Not in the GB 50180 lists (a city-level service), but most health POIs are hospitals.
    FacilityCategory("hospital", "医院", "Hospital", 15),
)
FACILITY_CODES = frozenset(c.code for c in FACILITY_CATEGORIES)

# --- hazards / cases (隐患整改 workflow) -------------------------------------
HAZARD_CATEGORIES = (
    Term("fire", "消防安全", "Fire safety"),
    Term("gas", "燃气安全", "Gas safety"),
    Term("electrical", "用电安全", "Electrical safety"),
    Term("structural", "房屋安全", "Structural safety"),
    Term("public_order", "治安隐患", "Public order"),
    Term("traffic", "交通安全", "Traffic safety"),
    Term("sanitation", "环境卫生", "Sanitation"),
    Term("other", "其他", "Other"),
)
HAZARD_CATEGORY_CODES = _codes(HAZARD_CATEGORIES)

HAZARD_SEVERITIES = (
    Term("low", "一般", "Low"),
    Term("medium", "较大", "Medium"),
    Term("high", "重大", "High"),
)
HAZARD_SEVERITY_CODES = _codes(HAZARD_SEVERITIES)

# found/reported -> filed -> assigned -> handled -> re-inspected -> closed
HAZARD_STATUSES = (
    Term("reported", "已上报", "Reported"),
    Term("filed", "已立案", "Filed"),
    Term("assigned", "已派遣", "Assigned"),
    Term("handled", "已处置", "Handled"),
    Term("reinspected", "已核查", "Re-inspected"),
    Term("closed", "已结案", "Closed"),
)
HAZARD_STATUS_CODES = _codes(HAZARD_STATUSES)
HAZARD_OPEN_STATUSES = HAZARD_STATUS_CODES - {"closed"}

GRID_KINDS = (
    Term("community", "社区网格", "Community grid"),
    Term("unit", "万米单元网格", "10,000 m² unit grid"),
)
GRID_KIND_CODES = _codes(GRID_KINDS)
