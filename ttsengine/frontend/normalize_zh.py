"""Mandarin text normalization: what is written in digits and symbols, read in Chinese.

Regex passes in a fixed order (so linear in the length of the text), each on the digits
the passes before it left:

* phone numbers digit by digit, 1 read 幺 (13812345678, 010-12345678, +86 138 1234 5678,
  and any digit string after 电话 / 手机 / 号码 / 编号 ...);
* dates (2024年3月5日, 2024-03-05, 2024/3/5), years digit by digit (2024年 二零二四年);
* times (3:30 三点三十分, 12:05:09, 2:00 两点), scores elsewhere (3:2 三比二);
* money (¥12.5 十二点五元, $5 五美元, 12.50元), percentages (50% 百分之五十, ‰ 千分之);
* units after a number (3.5km 三点五公里, 5kg 五公斤, 25℃ 二十五摄氏度, m² 平方米);
* fractions (3/4 四分之三), ranges (10-20 十到二十), negatives, decimals, ordinals
  (第3 第三), 2 before a measure word read 两 (2个 两个);
* numbers left: cardinals (10,000 一万), a long or zero-led digit string digit by digit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .markup import clean_text, drop_invisible, drop_unspoken_symbols, strip_markup

__all__ = ["normalize_chinese", "number_to_chinese", "digits_to_chinese"]

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ("", "十", "百", "千")
_ZH_BIG = ("", "万", "亿", "万亿")


def _zh_below_10000(n: int) -> str:
    out = []
    zero = False
    for pos in (3, 2, 1, 0):
        d = (n // 10 ** pos) % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_ZH_DIGITS[d] + _ZH_UNITS[pos])
    return "".join(out)


def number_to_chinese(n: int) -> str:
    """Chinese cardinal reading: 10 -> 十, 105 -> 一百零五, 20240 -> 二万零二百四十."""
    if n < 0:
        return "负" + number_to_chinese(-n)
    if n == 0:
        return "零"
    if n >= 10 ** 16:
        return "".join(_ZH_DIGITS[int(d)] for d in str(n))
    groups = []
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out = []
    need_zero = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out.append("零")
        out.append(_zh_below_10000(g) + _ZH_BIG[idx])
        need_zero = False
    text = "".join(out)
    if text.startswith("一十"):
        text = text[1:]
    return text


def digits_to_chinese(digits: str, phone: bool = False) -> str:
    """Each digit read on its own (2024 二零二四); ``phone``: 1 read 幺, as in phone numbers."""
    table = "零幺二三四五六七八九" if phone else _ZH_DIGITS
    return "".join(table[int(d)] for d in digits if d.isdigit())


def _zh_int(digits: str) -> str:
    digits = digits.replace(",", "")
    if len(digits) > 1 and digits.startswith("0") or len(digits) > 16:
        return digits_to_chinese(digits)
    return number_to_chinese(int(digits))


def _zh_decimal(integer: str, fraction: str | None) -> str:
    return _zh_int(integer) + ("点" + digits_to_chinese(fraction) if fraction else "")


# Measure words (and nouns counted without one) before which 2 is read 两.
_LIANG_BEFORE = (
    "个|位|只|件|条|本|张|次|天|年|岁|种|块|杯|瓶|辆|台|家|份|斤|公斤|公里|千克|千米|米|小时|分钟|秒钟|"
    "周|星期|个月|倍|层|名|双|对|把|门|棵|头|匹|架|艘|座|间|所|首|支|根|片|颗|粒|部|篇|句|口|碗|"
    "盘|箱|袋|包|场|届|顿|趟|遍|人|点")
_LIANG_RE = re.compile(r"(?<![\d.,:：第])2(?![\d.,:：%])(?=(?:" + _LIANG_BEFORE + "))")

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+)"

# --------------------------------------------------------------------------- phone numbers

_PHONE_WORDS = ("电话号码|手机号码|手机号|订单号|验证码|电话|手机|号码|热线|座机|编号|工号|单号|卡号|账号|房间号|"
                "房间|邮编|QQ|qq|微信")
_PHONE_AFTER_WORD_RE = re.compile(r"((?:" + _PHONE_WORDS + r")[:：是为]?\s?)(\+?\d[\d\- ]{2,}\d)")
_MOBILE_RE = re.compile(r"(?<![\d.])(\+86[\- ]?)?(1[3-9]\d[\- ]?\d{4}[\- ]?\d{4})(?![\d.])")
_LANDLINE_RE = re.compile(r"(?<![\d.])((?:0\d{2,3}|400|800)-\d{3,4}-?\d{3,4})(?![\d.])")


def _read_phone(number: str) -> str:
    prefix = ""
    if number.startswith("+"):
        prefix, number = "加", number[1:]
    groups = [g for g in re.split(r"[\- ]+", number) if g]
    return prefix + " ".join(digits_to_chinese(g, phone=True) for g in groups)


def _phone_after_word(m: re.Match[str]) -> str:
    return m.group(1).rstrip(" ") + _read_phone(m.group(2))


def _mobile(m: re.Match[str]) -> str:
    return ("加八六 " if m.group(1) else "") + _read_phone(m.group(2))


# --------------------------------------------------------------------------- dates, times

def _day(d: str) -> str:
    return number_to_chinese(int(d))


def _full_date(m: re.Match[str]) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= int(day) <= 31):
        return m.group(0)
    return f"{digits_to_chinese(year)}年{number_to_chinese(month)}月{_day(day)}日"


_DATE_RE = re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.])(?:日|号)?")
_YEAR_RE = re.compile(r"(?<![\d.])(\d{2,4})(?=年)")
_YEAR_RANGE_RE = re.compile(r"(?<![\d.])(\d{4})\s?[-–~～至到]\s?(\d{4})(?=年)")
_MONTH_RE = re.compile(r"(?<![\d.])(\d{1,2})(?=月)")
_DAY_RE = re.compile(r"(?<![\d.])(\d{1,2})(?=[日号])")


def _clock(m: re.Match[str]) -> str:
    h, mi, s = int(m.group(1)), int(m.group(2)), m.group(3)
    if h > 24 or mi > 59 or (s is not None and int(s) > 59):  # not a time: a score or ratio
        return number_to_chinese(h) + "比" + number_to_chinese(mi) + (
            "比" + number_to_chinese(int(s)) if s is not None else "")
    hour = "两" if h == 2 else number_to_chinese(h)
    out = hour + "点"
    if mi:
        out += ("零" if mi < 10 else "") + number_to_chinese(mi) + "分"
    if s is not None and int(s):
        out += number_to_chinese(int(s)) + "秒"
    return out


_TIME_RE = re.compile(r"(?<![\d.:])(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?(?![\d:])")
_SCORE_RE = re.compile(r"(?<![\d.:])(\d+)[:：](\d+)(?![\d:])")

# --------------------------------------------------------------------------- money, units

_CURRENCY_PREFIX = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑", "HK$": "港币", "US$": "美元"}
_MONEY_RE = re.compile(r"(HK\$|US\$|[¥￥$€£])\s?" + _NUM + r"(?:\.(\d+))?(万|亿)?(元|块)?")
_YUAN_RE = re.compile(r"(?<![\d.])" + _NUM + r"\.(\d+)(?=\s?(?:元|块|美元|欧元|英镑|港币))")


def _money_fraction(fraction: str | None) -> str | None:
    return (fraction or "").rstrip("0") or None  # 12.50元: 十二点五元


def _money(m: re.Match[str]) -> str:
    unit = _CURRENCY_PREFIX[m.group(1)]
    if m.group(5) and unit != "元":  # "$5块": keep what is written after the number
        unit += m.group(5)
    return _zh_decimal(m.group(2), _money_fraction(m.group(3))) + (m.group(4) or "") + unit


_UNITS = {
    "km/h": "公里每小时", "m/s": "米每秒", "km": "公里", "kg": "公斤", "cm": "厘米", "mm": "毫米",
    "mg": "毫克", "ml": "毫升", "mL": "毫升", "kWh": "千瓦时", "kW": "千瓦", "mAh": "毫安时",
    "Hz": "赫兹", "kHz": "千赫兹", "MHz": "兆赫兹", "GHz": "吉赫兹", "ms": "毫秒", "min": "分钟",
    "m²": "平方米", "m³": "立方米", "m2": "平方米", "m3": "立方米", "m": "米", "g": "克",
    "L": "升", "l": "升", "h": "小时", "s": "秒", "W": "瓦", "V": "伏",
    "°C": "摄氏度", "℃": "摄氏度", "°F": "华氏度", "℉": "华氏度", "°": "度",
    "㎞": "公里", "㎏": "公斤", "㎝": "厘米", "㎜": "毫米", "㎡": "平方米",
}
_UNIT_RE = re.compile(
    r"(-?)" + _NUM + r"(?:\.(\d+))?\s?("
    + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + r")(?![A-Za-z])")


def _unit(m: re.Match[str]) -> str:
    sign = "零下" if m.group(1) and m.group(4) in ("°C", "℃", "°F", "℉", "°") else ("负" if m.group(1) else "")
    return sign + _zh_decimal(m.group(2), m.group(3)) + _UNITS[m.group(4)]


_DECADE_RE = re.compile(r"(?<![\d.])(\d{3}0)'?s(?![A-Za-z])")  # 1990s: 一九九零年代
_PERCENT_RE = re.compile(r"(?<![0-9A-Za-z.])(-?)" + _NUM + r"(?:\.(\d+))?\s?([%％‰])")


def _percent(m: re.Match[str]) -> str:
    head = "千分之" if m.group(4) == "‰" else "百分之"
    return ("负" if m.group(1) else "") + head + _zh_decimal(m.group(2), m.group(3))


# --------------------------------------------------------------------------- numbers

_FRACTION_RE = re.compile(r"(?<![\d./])(\d+)/(\d+)(?![\d/])")
_RANGE_RE = re.compile(r"(?<![\d.\-])(\d+(?:\.\d+)?)\s?[-–~～]\s?(?=\d)")
_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z.])(-?)" + _NUM + r"(?:\.(\d+))?(?!\d)")
_PLUS_RE = re.compile(r"(?<=[一二三四五六七八九十百千万亿零])\+(?=[一二三四五六七八九十零两])")
_EQUALS_RE = re.compile(r"(?<=[一二三四五六七八九十百千万亿零两])\s?=\s?(?=[一二三四五六七八九十零两负])")


def _fraction(m: re.Match[str]) -> str:
    num, den = m.group(1), m.group(2)
    if int(den) == 0:
        return m.group(0)
    return _zh_int(den) + "分之" + _zh_int(num)


_ZH_WIDE_ALNUM = str.maketrans(
    {chr(0xFF10 + i): str(i) for i in range(10)}
    | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
    | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
    | {"\u3000": " ", "．": ".", "％": "%", "＋": "+", "－": "-", "／": "/", "：": "："}
)

_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]] = [
    (_PHONE_AFTER_WORD_RE, _phone_after_word),
    (_MOBILE_RE, _mobile),
    (_LANDLINE_RE, lambda m: _read_phone(m.group(1))),
    (_DATE_RE, _full_date),
    (_YEAR_RANGE_RE, lambda m: digits_to_chinese(m.group(1)) + "到" + digits_to_chinese(m.group(2))),
    (_YEAR_RE, lambda m: digits_to_chinese(m.group(1))),
    (_MONTH_RE, lambda m: number_to_chinese(int(m.group(1)))),
    (_DAY_RE, lambda m: number_to_chinese(int(m.group(1)))),
    (_TIME_RE, _clock),
    (_SCORE_RE, lambda m: _zh_int(m.group(1)) + "比" + _zh_int(m.group(2))),
    (_MONEY_RE, _money),
    (_YUAN_RE, lambda m: _zh_decimal(m.group(1), _money_fraction(m.group(2)))),
    (_PERCENT_RE, _percent),
    (_RANGE_RE, lambda m: m.group(1) + "到"),
    (_DECADE_RE, lambda m: digits_to_chinese(m.group(1)) + "年代"),
    (_UNIT_RE, _unit),
    (_FRACTION_RE, _fraction),
    (_LIANG_RE, "两"),
    (_NUMBER_RE, lambda m: ("负" if m.group(1) else "") + _zh_decimal(m.group(2), m.group(3))),
    (_PLUS_RE, "加"),
    (_EQUALS_RE, "等于"),
]


def normalize_chinese(text: str) -> str:
    """Normalize Chinese text: full-width letters / digits to ASCII, tags and emoji removed,
    then numbers, dates, times, money, units, percentages and phone numbers read in Chinese
    (see the module doc). CJK punctuation is kept for the sentence splitter."""
    text = drop_invisible(strip_markup(text.translate(_ZH_WIDE_ALNUM), ""))  # no spaces inside Chinese
    text = clean_text(drop_unspoken_symbols(text, ""), generic_marks=True)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text
