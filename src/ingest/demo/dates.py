"""Date formatting the way Moroccan outlets print it (and the way crawlers must read it back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

CASA = ZoneInfo("Africa/Casablanca")

# Moroccan usage follows the French month names; Mashriq outlets use the Syriac names.
MA_MONTHS = (
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "ماي",
    "يونيو",
    "يوليوز",
    "غشت",
    "شتنبر",
    "أكتوبر",
    "نونبر",
    "دجنبر",
)
MASHRIQ_MONTHS = (
    "كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران",
    "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول",
)  # fmt: skip
FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
AR_WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
FR_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def parse_local(text: str) -> datetime:
    """'2025-05-16 10:45' as a wall-clock time in Casablanca, returned in UTC."""
    naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    return naive.replace(tzinfo=CASA).astimezone(UTC)


def local(dt: datetime) -> datetime:
    return dt.astimezone(CASA)


def iso_local(dt: datetime) -> str:
    return local(dt).isoformat(timespec="seconds")


def iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def indic(text: str) -> str:
    """Western digits to Arabic-Indic digits (١٦ ماي ٢٠٢٥)."""
    return text.translate(_INDIC)


def ar_moroccan(dt: datetime, *, weekday: bool = True, clock: bool = True) -> str:
    """'الثلاثاء 20 ماي 2025 - 10:45' in local time."""
    d = local(dt)
    out = f"{d.day} {MA_MONTHS[d.month - 1]} {d.year}"
    if weekday:
        out = f"{AR_WEEKDAYS[d.weekday()]} {out}"
    if clock:
        out += f" - {d:%H:%M}"
    return out


def ar_mashriq(dt: datetime) -> str:
    """'الأحد 3 حزيران 2025' in local time."""
    d = local(dt)
    return f"{AR_WEEKDAYS[d.weekday()]} {d.day} {MASHRIQ_MONTHS[d.month - 1]} {d.year}"


def fr_long(dt: datetime) -> str:
    """'vendredi 16 mai 2025 à 10h45' in local time."""
    d = local(dt)
    return f"{FR_WEEKDAYS[d.weekday()]} {d.day} {FR_MONTHS[d.month - 1]} {d.year} à {d:%H}h{d:%M}"


def numeric(dt: datetime) -> str:
    """'16/05/2025 11:20' in local time."""
    return f"{local(dt):%d/%m/%Y %H:%M}"


def relative_ar(delta: timedelta) -> str:
    """'منذ 16 دقائق', 'منذ ساعتين', 'منذ 3 أيام' (the plural forms sites actually print)."""
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes < 60:
        return "منذ دقيقة" if minutes == 1 else f"منذ {minutes} دقائق"
    hours = minutes // 60
    if hours < 24:
        return {1: "منذ ساعة", 2: "منذ ساعتين"}.get(hours, f"منذ {hours} ساعات")
    days = hours // 24
    return {1: "منذ يوم", 2: "منذ يومين"}.get(days, f"منذ {days} أيام")
