"""Places customers live and travel to: Chinese cities with province, coordinates and codes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CITIES", "DOMESTIC_COUNT", "City", "city_arrays"]


@dataclass(frozen=True, slots=True)
class City:
    """A city: where it is, its administrative code, its share of customers and its IP block."""

    name: str
    region: str
    lat: float
    lon: float
    area_code: int
    weight: float
    ip_block: int


_DOMESTIC = (
    City("上海市", "上海市", 31.2304, 121.4737, 310101, 9.0, 0x3A20),
    City("北京市", "北京市", 39.9042, 116.4074, 110101, 8.5, 0x7B70),
    City("深圳市", "广东省", 22.5431, 114.0579, 440303, 6.5, 0x7198),
    City("广州市", "广东省", 23.1291, 113.2644, 440103, 6.5, 0x3B2A),
    City("重庆市", "重庆市", 29.5630, 106.5516, 500103, 5.0, 0x3A11),
    City("成都市", "四川省", 30.5728, 104.0668, 510104, 5.0, 0x7584),
    City("杭州市", "浙江省", 30.2741, 120.1551, 330102, 4.5, 0x3B6E),
    City("武汉市", "湖北省", 30.5928, 114.3055, 420102, 4.0, 0x3A30),
    City("西安市", "陕西省", 34.3416, 108.9398, 610102, 3.5, 0x7190),
    City("南京市", "江苏省", 32.0603, 118.7969, 320102, 3.5, 0x3AD4),
    City("天津市", "天津市", 39.3434, 117.3616, 120101, 3.5, 0x3C1C),
    City("苏州市", "江苏省", 31.2989, 120.5853, 320505, 3.0, 0x3AD8),
    City("郑州市", "河南省", 34.7466, 113.6254, 410102, 3.0, 0x2A4E),
    City("长沙市", "湖南省", 28.2282, 112.9388, 430102, 2.5, 0x3AAA),
    City("沈阳市", "辽宁省", 41.8057, 123.4315, 210102, 2.0, 0x3B36),
    City("青岛市", "山东省", 36.0671, 120.3826, 370202, 2.0, 0x3C4E),
    City("济南市", "山东省", 36.6512, 117.1201, 370102, 1.8, 0x3C48),
    City("大连市", "辽宁省", 38.9140, 121.6147, 210202, 1.5, 0x3B3A),
    City("厦门市", "福建省", 24.4798, 118.0894, 350203, 1.5, 0x3B50),
    City("福州市", "福建省", 26.0745, 119.2965, 350102, 1.5, 0x3B54),
    City("合肥市", "安徽省", 31.8206, 117.2272, 340102, 1.8, 0x3C80),
    City("昆明市", "云南省", 25.0389, 102.7183, 530102, 1.5, 0x7062),
    City("哈尔滨市", "黑龙江省", 45.8038, 126.5349, 230102, 1.5, 0x3B80),
    City("长春市", "吉林省", 43.8171, 125.3235, 220102, 1.2, 0x3B88),
    City("石家庄市", "河北省", 38.0428, 114.5149, 130102, 1.5, 0x3C28),
    City("太原市", "山西省", 37.8706, 112.5489, 140105, 1.2, 0x3CE0),
    City("南昌市", "江西省", 28.6820, 115.8579, 360102, 1.2, 0x3B98),
    City("南宁市", "广西壮族自治区", 22.8170, 108.3665, 450102, 1.2, 0x3C90),
    City("贵阳市", "贵州省", 26.6470, 106.6302, 520102, 1.0, 0x3CA0),
    City("兰州市", "甘肃省", 36.0611, 103.8343, 620102, 0.8, 0x3CB0),
    City("乌鲁木齐市", "新疆维吾尔自治区", 43.8256, 87.6168, 650102, 0.7, 0x3CC0),
    City("呼和浩特市", "内蒙古自治区", 40.8424, 111.7490, 150102, 0.6, 0x3CD0),
    City("海口市", "海南省", 20.0440, 110.1999, 460105, 0.6, 0x3CE8),
    City("宁波市", "浙江省", 29.8683, 121.5440, 330203, 1.8, 0x3B72),
    City("无锡市", "江苏省", 31.4912, 120.3119, 320213, 1.5, 0x3ADC),
    City("东莞市", "广东省", 23.0207, 113.7518, 441900, 1.8, 0x719C),
    City("佛山市", "广东省", 23.0215, 113.1214, 440604, 1.6, 0x71A0),
    City("温州市", "浙江省", 27.9938, 120.6994, 330302, 1.2, 0x3B76),
    City("银川市", "宁夏回族自治区", 38.4872, 106.2309, 640104, 0.4, 0x3CF0),
    City("西宁市", "青海省", 36.6171, 101.7782, 630102, 0.3, 0x3CF4),
    City("拉萨市", "西藏自治区", 29.6525, 91.1721, 540102, 0.2, 0x3CF8),
)
_ABROAD = (
    City("香港", "境外", 22.3193, 114.1694, 810000, 3.0, 0x7A64),
    City("澳门", "境外", 22.1987, 113.5439, 820000, 1.0, 0x7A68),
    City("东京", "境外", 35.6762, 139.6503, 0, 2.0, 0x7E00),
    City("首尔", "境外", 37.5665, 126.9780, 0, 1.5, 0x7D10),
    City("新加坡", "境外", 1.3521, 103.8198, 0, 1.5, 0x7C40),
    City("曼谷", "境外", 13.7563, 100.5018, 0, 1.5, 0x7C50),
    City("吉隆坡", "境外", 3.1390, 101.6869, 0, 0.8, 0x7C60),
    City("伦敦", "境外", 51.5074, -0.1278, 0, 0.6, 0x5100),
    City("巴黎", "境外", 48.8566, 2.3522, 0, 0.5, 0x5200),
    City("纽约", "境外", 40.7128, -74.0060, 0, 0.6, 0x4800),
    City("悉尼", "境外", -33.8688, 151.2093, 0, 0.5, 0x6700),
    City("拉各斯", "境外", 6.5244, 3.3792, 0, 0.1, 0x2900),
)
CITIES: tuple[City, ...] = _DOMESTIC + _ABROAD
DOMESTIC_COUNT = len(_DOMESTIC)


@dataclass(frozen=True, slots=True)
class CityArrays:
    """The city table as numpy columns, indexed by city code."""

    lat: np.ndarray
    lon: np.ndarray
    area_code: np.ndarray
    ip_block: np.ndarray
    domestic_weight: np.ndarray
    abroad_weight: np.ndarray


def city_arrays() -> CityArrays:
    """Columns of the city table for vectorised lookups."""
    weights = np.array([c.weight for c in CITIES])
    domestic = np.where(np.arange(len(CITIES)) < DOMESTIC_COUNT, weights, 0.0)
    abroad = np.where(np.arange(len(CITIES)) >= DOMESTIC_COUNT, weights, 0.0)
    return CityArrays(
        lat=np.array([c.lat for c in CITIES]),
        lon=np.array([c.lon for c in CITIES]),
        area_code=np.array([c.area_code for c in CITIES], dtype=np.int64),
        ip_block=np.array([c.ip_block for c in CITIES], dtype=np.int64),
        domestic_weight=domestic / domestic.sum(),
        abroad_weight=abroad / abroad.sum(),
    )
