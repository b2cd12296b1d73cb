"""Reference vocabulary: enum codes from the declared model, merchants, banks, names, billers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from tenure.data.catalog import canonical_catalog

__all__ = [
    "BANKS",
    "CATEGORIES",
    "GIVEN_CHARS",
    "SURNAMES",
    "Codes",
    "Counterparties",
    "codes",
    "counterparties",
]


@dataclass(frozen=True, slots=True)
class Codes:
    """Small-integer codes for one enum column, in declaration order."""

    values: tuple[str, ...]

    def __getitem__(self, name: str) -> int:
        return self.values.index(name)


@cache
def codes(table: str, column: str) -> Codes:
    """The codes of an enum column as declared in the canonical model."""
    return Codes(canonical_catalog()[table].column(column).values)


@dataclass(frozen=True, slots=True)
class Category:
    """A merchant category: share of purchases, typical amount, spread, online share."""

    name: str
    weight: float
    median_yuan: float
    sigma: float
    online: float
    merchants: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "grocery", 22, 85, 0.8, 0.2, ("盒马鲜生", "永辉超市", "沃尔玛", "物美超市", "华润万家")
    ),
    Category("restaurant", 20, 68, 0.7, 0.3, ("海底捞", "美团外卖", "饿了么", "肯德基", "麦当劳")),
    Category("coffee_tea", 9, 28, 0.4, 0.4, ("瑞幸咖啡", "星巴克", "喜茶", "蜜雪冰城")),
    Category("transport", 10, 35, 0.9, 0.6, ("滴滴出行", "中国铁路12306", "地铁", "高德打车")),
    Category("fuel", 5, 300, 0.4, 0.1, ("中国石化", "中国石油", "壳牌加油站")),
    Category("online_shopping", 14, 160, 1.0, 1.0, ("淘宝", "京东商城", "拼多多", "唯品会")),
    Category("telecom", 3, 99, 0.4, 0.9, ("中国移动", "中国联通", "中国电信")),
    Category("healthcare", 3, 220, 1.1, 0.1, ("大参林药房", "瑞慈体检", "人民医院")),
    Category("education", 2, 1200, 1.0, 0.5, ("新东方", "学而思", "得到")),
    Category("entertainment", 4, 120, 0.8, 0.7, ("万达影城", "腾讯视频", "爱奇艺", "网易游戏")),
    Category("travel", 3, 1500, 1.0, 0.8, ("携程旅行", "飞猪", "中国国际航空", "华住酒店")),
    Category("electronics", 2, 2500, 0.9, 0.7, ("苹果直营店", "华为商城", "小米之家", "苏宁易购")),
    Category("luxury", 0.6, 9000, 0.8, 0.3, ("周大福", "路易威登", "古驰")),
    Category("digital_goods", 2.4, 30, 0.9, 1.0, ("App Store", "Steam", "腾讯充值", "网易云音乐")),
)

BANKS: tuple[str, ...] = (
    "TENURE",
    "ICBC",
    "CCB",
    "BOC",
    "ABC",
    "BOCOM",
    "CMB",
    "CIB",
    "SPDB",
    "CITIC",
    "PSBC",
    "WEBANK",
    "MYBANK",
)
COMPETITOR_BANKS = (6, 7, 11, 12)

SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1),
    ("李", "li", 7.0),
    ("张", "zhang", 6.7),
    ("刘", "liu", 5.4),
    ("陈", "chen", 4.5),
    ("杨", "yang", 3.1),
    ("黄", "huang", 2.2),
    ("赵", "zhao", 2.1),
    ("吴", "wu", 2.0),
    ("周", "zhou", 1.9),
    ("徐", "xu", 1.7),
    ("孙", "sun", 1.5),
    ("马", "ma", 1.4),
    ("朱", "zhu", 1.3),
    ("胡", "hu", 1.3),
    ("郭", "guo", 1.1),
    ("何", "he", 1.1),
    ("高", "gao", 1.0),
    ("林", "lin", 1.0),
    ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9),
    ("梁", "liang", 0.8),
    ("谢", "xie", 0.8),
    ("宋", "song", 0.7),
    ("唐", "tang", 0.7),
    ("许", "xu", 0.6),
    ("韩", "han", 0.6),
    ("冯", "feng", 0.6),
    ("邓", "deng", 0.6),
    ("曹", "cao", 0.5),
    ("彭", "peng", 0.5),
    ("曾", "zeng", 0.5),
    ("肖", "xiao", 0.5),
    ("田", "tian", 0.4),
    ("董", "dong", 0.4),
    ("袁", "yuan", 0.4),
    ("潘", "pan", 0.4),
    ("于", "yu", 0.4),
    ("蒋", "jiang", 0.4),
    ("蔡", "cai", 0.4),
    ("余", "yu", 0.3),
    ("杜", "du", 0.3),
    ("叶", "ye", 0.3),
    ("程", "cheng", 0.3),
    ("苏", "su", 0.3),
    ("魏", "wei", 0.3),
    ("吕", "lv", 0.3),
    ("丁", "ding", 0.3),
    ("任", "ren", 0.3),
    ("沈", "shen", 0.3),
    ("欧阳", "ouyang", 0.05),
    ("司马", "sima", 0.02),
)
GIVEN_CHARS: tuple[tuple[str, str], ...] = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("英", "ying"),
    ("华", "hua"),
    ("建", "jian"),
    ("文", "wen"),
    ("辉", "hui"),
    ("玲", "ling"),
    ("红", "hong"),
    ("鑫", "xin"),
    ("宇", "yu"),
    ("浩", "hao"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("欣", "xin"),
    ("子", "zi"),
    ("轩", "xuan"),
    ("梓", "zi"),
    ("涵", "han"),
    ("晨", "chen"),
    ("博", "bo"),
    ("睿", "rui"),
    ("嘉", "jia"),
    ("怡", "yi"),
    ("佳", "jia"),
    ("思", "si"),
    ("颖", "ying"),
    ("琳", "lin"),
    ("峰", "feng"),
    ("斌", "bin"),
    ("志", "zhi"),
    ("国", "guo"),
    ("海", "hai"),
    ("俊", "jun"),
)
COMPANY_WORDS = (
    "华信",
    "恒达",
    "鼎盛",
    "瑞丰",
    "宏远",
    "金泰",
    "联创",
    "天成",
    "中和",
    "博通",
    "新元",
    "永安",
    "汇通",
    "泰和",
    "东方",
    "长城",
    "星河",
    "锦程",
    "安泰",
    "景明",
)
COMPANY_TRADES = (
    "科技",
    "贸易",
    "物流",
    "建设",
    "餐饮管理",
    "医药",
    "电子",
    "服装",
    "食品",
    "信息技术",
    "机械制造",
    "文化传媒",
    "商贸",
    "新能源",
    "咨询",
)
BILLERS = ("国家电网", "自来水公司", "燃气集团", "中国移动", "中国联通", "物业管理处", "平安保险")
FIXED = ("本行贷款", "信用卡还款", "本人账户", "代发工资", "定期存款到期", "理财产品", "网银转账")


@dataclass(frozen=True, slots=True)
class Counterparties:
    """One pool of counterparty names; streams refer to names by index into ``names``."""

    names: tuple[str, ...]
    merchant_start: np.ndarray
    merchant_count: np.ndarray
    biller_start: int
    employer_start: int
    employer_count: int
    person_start: int
    person_count: int
    fixed_start: int

    def fixed(self, name: str) -> int:
        """Index of one fixed label such as ``本行贷款``."""
        return self.fixed_start + FIXED.index(name)


def company_name(word: str, trade: str, city: str) -> str:
    """A plausible Chinese company name."""
    return f"{city.removesuffix('市')}{word}{trade}有限公司"


@cache
def counterparties() -> Counterparties:
    """The shared counterparty pool (merchants, billers, employers, people, fixed labels)."""
    rng = np.random.default_rng(20250101)
    names: list[str] = []
    starts, counts = [], []
    for category in CATEGORIES:
        starts.append(len(names))
        counts.append(len(category.merchants))
        names.extend(category.merchants)
    biller_start = len(names)
    names.extend(BILLERS)
    employer_start = len(names)
    cities = ("上海市", "北京市", "深圳市", "广州市", "杭州市", "成都市", "武汉市", "南京市")
    employers = [
        company_name(w, t, c) for c in cities for w in COMPANY_WORDS for t in COMPANY_TRADES
    ]
    names.extend(employers)
    person_start = len(names)
    surnames = [s for s, _, _ in SURNAMES]
    people = [
        surnames[rng.integers(len(surnames))]
        + "".join(
            GIVEN_CHARS[g][0] for g in rng.integers(len(GIVEN_CHARS), size=rng.integers(1, 3))
        )
        for _ in range(3000)
    ]
    names.extend(people)
    fixed_start = len(names)
    names.extend(FIXED)
    return Counterparties(
        names=tuple(names),
        merchant_start=np.array(starts, dtype=np.int64),
        merchant_count=np.array(counts, dtype=np.int64),
        biller_start=biller_start,
        employer_start=employer_start,
        employer_count=len(employers),
        person_start=person_start,
        person_count=len(people),
        fixed_start=fixed_start,
    )
