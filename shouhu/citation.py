"""Citations as people read them: the county's own document number and section, and the
national texts by their Chinese names — never "seed", never an English word.

Packs cite as the brief asks (`seed 001 §二(一)5`, `民法典 art. 36`, `local default: …`); what
a document, page or message shows is `泗政办秘〔2020〕9号 第二部分（一）5`, `《民法典》第三十六条`,
`地方默认`. Only citations are taken from a source; its English notes stay in the pack.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shouhu.policy import Pack

CN_DIGITS = "零一二三四五六七八九"

# National texts as sources name them → as people name them (LAW.md).
LAWS = {
    "未成年人保护法": "《未成年人保护法》",
    "未保法": "《未成年人保护法》",
    "民法典": "《民法典》",
    "反家庭暴力法": "《反家庭暴力法》",
    "反家暴法": "《反家庭暴力法》",
    "强制报告意见": "《关于建立侵害未成年人案件强制报告制度的意见（试行）》",
    "法发〔2014〕24号": "《关于依法处理监护人侵害未成年人权益行为若干问题的意见》（法发〔2014〕24号）",
    "国发〔2016〕13号": "《国务院关于加强农村留守儿童关爱保护工作的意见》（国发〔2016〕13号）",
    "GB/T 22239-2019": "《信息安全技术 网络安全等级保护基本要求》（GB/T 22239-2019）",
}
_SECTION = r"§?(?P<part>[一二三四五六七八九十]+)(?:\((?P<sub>[一二三四五六七八九十]+)\))?(?P<item>\d+(?:[–-]\d+)?)?"
_SEED = re.compile(r"seed (?P<seed>\d{3})(?: " + _SECTION + r")?")
_LAW = re.compile(
    r"(?P<law>" + "|".join(re.escape(k) for k in sorted(LAWS, key=len, reverse=True)) + r")"
    r"(?: arts?\. (?P<art>\d+)(?:[–-](?P<art2>\d+))?(?: ¶(?P<para>\d+))?| (?P<lsec>[一二三四五六七八九十]+)\((?P<lsub>[一二三四五六七八九十]+)\))?"
)
_LOCAL = re.compile(r"local default(?::\s*(?P<why>[^;]*))?")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_number(n: int) -> str:
    """1–999 as written in article numbers: 十一, 三十六, 九十二, 一百一十七."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    tail = (
        ""
        if rest == 0
        else (
            "零" + CN_DIGITS[rest]
            if rest < 10
            else ("一" + chinese_number(rest) if rest < 20 else chinese_number(rest))
        )
    )
    return CN_DIGITS[n // 100] + "百" + tail


def _part(m: re.Match[str]) -> str:
    out = ""
    if m["part"]:
        out += f"第{m['part']}部分"
    if m["sub"]:
        out += f"（{m['sub']}）"
    if m["item"]:
        out += m["item"].replace("-", "–")
    return out


def document_name(pack: Pack | None, seed: str) -> str:
    """The county's document by its number (the pack's own seed only: another county's is not its rule)."""
    if pack is not None and pack.document is not None and pack.document.seed == seed:
        return pack.document.number
    from shouhu.policy import (
        seed_documents,  # a citation of a document not the pack's own: still named, never "seed"
    )

    return seed_documents().get(seed, "地方文件")


def citations(source: str, pack: Pack | None = None) -> list[str]:
    """Every citation in a source, in order, as people read them."""
    found: list[tuple[int, str]] = []
    for m in _SEED.finditer(source):
        where = _part(m)
        found.append((m.start(), document_name(pack, m["seed"]) + (f" {where}" if where else "")))
    for m in _LAW.finditer(source):
        name = LAWS[m["law"]]
        if m["art"]:
            name += (
                f"第{chinese_number(int(m['art']))}"
                + (f"至第{chinese_number(int(m['art2']))}" if m["art2"] else "")
                + "条"
            )
            if m["para"]:
                name += f"第{chinese_number(int(m['para']))}款"
        elif m["lsec"]:
            name += f"第{m['lsec']}部分（{m['lsub']}）"
        found.append((m.start(), name))
    for m in _LOCAL.finditer(source):
        why = (m["why"] or "").strip()
        found.append(
            (
                m.start(),
                "地方默认" + (f"（{why}）" if why and _CJK.search(why) and not re.search(r"[A-Za-z]", why) else ""),
            )
        )
    out: list[str] = []
    for _, text in sorted(found):
        if text not in out:
            out.append(text)
    return out


def readable(source: str, pack: Pack | None = None) -> str:
    """A source as one line people read: 依据 …; never empty."""
    return "；".join(citations(source, pack)) or "地方默认"
