"""Free text customers write, in Chinese and English: many templates with slots filled per row."""

from __future__ import annotations

from string import Formatter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.simulator.formatting import concat_strings, lookup_strings

__all__ = ["COMMENTS", "MESSAGES", "fill_templates", "slot_values"]

# (language, kind, topic) -> templates
MESSAGES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("zh", "complaint", "fees"): (
        "为什么又扣了我{fee}元的{fee_name}？我从来没有开通过这个服务，请给个说法。",
        "账户管理费{fee}元太不合理了，余额少一点就收费，考虑换银行了。",
        "跨行转账手续费{fee}元，别的银行都免费，你们还在收。",
        "{date}被扣了{fee}元{fee_name}，之前打电话说取消了，怎么还在扣？",
        "每个月都莫名其妙扣{fee}元，查了半天才知道是{fee_name}，太坑了。",
    ),
    ("zh", "complaint", "card"): (
        "我的卡在{merchant}刷卡被拒了{times}次，余额明明够，非常尴尬。",
        "信用卡年费{fee}元没有提前通知就扣了，要求退还。",
        "在{city}出差刷卡一直失败，客服电话半天打不通。",
        "卡被无故冻结，{days}天了还没解冻，影响正常生活。",
    ),
    ("zh", "complaint", "app"): (
        "手机银行APP又闪退了，{feature}功能根本用不了，已经{days}天了。",
        "每次登录都要短信验证码，太麻烦了，能不能改进一下？",
        "APP更新后{feature}找不到了，界面很乱，老人根本不会用。",
        "登录一直提示网络异常，试了{times}次都不行。",
    ),
    ("zh", "complaint", "transfer"): (
        "{date}转账{amount}元到现在还没到账，急用钱，请尽快处理！",
        "转账被风控拦截了，打了{times}次电话才解冻，体验很差。",
        "给家人转{amount}元还要人脸识别加短信验证，太折腾了。",
    ),
    ("zh", "complaint", "fraud"): (
        "我的账户{date}被人盗用了，有一笔{amount}元的转账不是我操作的，请马上冻结并追回！",
        "收到陌生验证码之后账户少了{amount}元，手机号也被改了，请立即处理。",
        "有人冒充客服骗我转账{amount}元，你们的风控为什么没拦住？",
    ),
    ("zh", "complaint", "service"): (
        "在{branch}排队等了{minutes}分钟，只开了一个窗口。",
        "客服态度很差，问题说了{times}遍都没解决。",
        "投诉{days}天了没有任何回复，再不处理就去银保监投诉。",
    ),
    ("zh", "complaint", "loan"): (
        "房贷利率什么时候能调整？别的银行都降了。",
        "提前还款手续太复杂，跑了{times}趟网点。",
    ),
    ("zh", "inquiry", "general"): (
        "请问{product}的利率现在是多少？",
        "我想了解一下{product}的办理流程和需要的材料。",
        "怎么修改绑定的手机号？",
        "{date}那笔{amount}元的扣款是什么费用？",
        "请问境外刷卡手续费怎么收？",
        "信用卡额度可以提高吗？现在额度不够用。",
        "{product}到期后会自动转存吗？",
    ),
    ("zh", "praise", "service"): (
        "{branch}的工作人员非常耐心，帮我解决了问题，点赞！",
        "APP新版本很好用，{feature}很方便。",
        "客服很专业，{minutes}分钟就帮我处理好了，谢谢！",
        "理财经理服务周到，收益也不错。",
    ),
    ("en", "complaint", "fees"): (
        "Why was I charged a {fee} yuan {fee_name} again? I never signed up for this.",
        "A {fee} yuan fee because my balance dipped is unfair. Thinking of switching banks.",
        "Other banks don't charge for transfers but you took {fee} yuan on {date}.",
        "I was told the {fee_name} was cancelled, yet {fee} yuan was deducted on {date}.",
    ),
    ("en", "complaint", "card"): (
        "My card was declined {times} times at {merchant} even though I have enough money.",
        "The annual card fee of {fee} yuan was charged without notice. Please refund it.",
        "My card keeps failing while I travel and nobody answers the hotline.",
    ),
    ("en", "complaint", "app"): (
        "The mobile app keeps crashing and I cannot use {feature} for {days} days now.",
        "Every login asks for an SMS code. This is really annoying.",
        "After the update I cannot find {feature} anymore.",
    ),
    ("en", "complaint", "transfer"): (
        "My transfer of {amount} yuan on {date} still has not arrived. I need it urgently!",
        "A transfer was blocked by your risk team and it took {times} calls to release it.",
    ),
    ("en", "complaint", "fraud"): (
        "Someone took over my account on {date} and sent {amount} yuan. I did not do this!",
        "My phone number was changed and {amount} yuan disappeared. Freeze my account now.",
    ),
    ("en", "complaint", "service"): (
        "I waited {minutes} minutes at the branch with only one counter open.",
        "I explained my problem {times} times and it is still not solved.",
    ),
    ("en", "complaint", "loan"): (
        "When will my mortgage rate be adjusted? Other banks already cut theirs.",
    ),
    ("en", "inquiry", "general"): (
        "What is the current rate on {product}?",
        "How do I change the phone number linked to my account?",
        "What was the {amount} yuan charge on {date}?",
        "Will my {product} roll over automatically at maturity?",
        "How much is the fee for card payments abroad?",
    ),
    ("en", "praise", "service"): (
        "The staff at the branch were very patient and solved my problem. Thank you!",
        "The new app version is great and {feature} is fast.",
        "Your hotline sorted everything out in {minutes} minutes. Much appreciated.",
    ),
}

COMMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("zh", "low"): (
        "收费太多，服务一般。",
        "APP太难用了。",
        "转账老是被拦，体验很差。",
        "投诉没人管。",
        "准备换银行了。",
    ),
    ("zh", "mid"): ("还可以吧。", "一般，希望手续费能降一点。", "网点人太多。", "APP有时候卡顿。"),
    ("zh", "high"): (
        "服务很好，推荐！",
        "APP方便，转账快。",
        "客户经理很专业。",
        "用了十几年了，很放心。",
    ),
    ("en", "low"): (
        "Too many fees.",
        "The app is frustrating.",
        "My complaint was ignored.",
        "Planning to leave.",
    ),
    ("en", "mid"): ("It is okay.", "Fees could be lower.", "Branch queues are long."),
    ("en", "high"): ("Great service!", "Fast transfers and a good app.", "My RM is excellent."),
}

_SLOT_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "fee": ("2", "10", "15", "30", "50", "100", "200"),
        "fee_name": ("短信通知费", "账户管理费", "跨行转账手续费", "年费", "小额账户管理费"),
        "feature": ("转账", "账单查询", "理财", "信用卡还款", "扫码支付", "生活缴费"),
        "product": ("定期存款", "大额存单", "理财产品", "信用卡", "消费贷", "房贷"),
        "city": ("上海", "北京", "深圳", "广州", "成都", "杭州", "香港", "东京"),
        "branch": ("人民路支行", "中山路营业部", "高新区支行", "解放路支行", "滨江支行"),
        "merchant": ("超市", "加油站", "饭店", "京东", "商场", "药店"),
    },
    "en": {
        "fee": ("2", "10", "15", "30", "50", "100", "200"),
        "fee_name": ("SMS alert fee", "account fee", "transfer fee", "annual fee"),
        "feature": ("transfers", "statements", "wealth products", "card repayment", "QR payments"),
        "product": (
            "term deposits",
            "large CDs",
            "wealth products",
            "credit cards",
            "personal loans",
        ),
        "city": ("Shanghai", "Beijing", "Shenzhen", "Hong Kong", "Tokyo"),
        "branch": ("the branch",),
        "merchant": ("the supermarket", "a petrol station", "a restaurant", "JD.com", "the mall"),
    },
}
_OPENERS = {
    "zh": ("", "", "你好，", "您好，", "麻烦问下，", "喂，"),
    "en": ("", "", "Hi, ", "Hello, ", "Dear bank, "),
}
_CLOSERS = {
    "zh": ("", "", "谢谢。", "！！", "急！", "尽快回复。"),
    "en": ("", "", " Thanks.", " Please advise.", "!!"),
}
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def slot_values(rng: np.random.Generator, language: str, times: np.ndarray) -> dict[str, pa.Array]:
    """One value per row for every slot name, in ``language``."""
    n = len(times)
    values = {
        k: lookup_strings(pa.array(v), rng.integers(0, len(v), n))
        for k, v in _SLOT_WORDS[language].items()
    }
    day = (times - rng.integers(0, 10, n) * 86_400).astype("datetime64[s]").astype("datetime64[D]")
    months = day.astype("datetime64[M]")
    month_no = months.astype(np.int64) % 12
    day_no = pa.array((day - months.astype("datetime64[D]")).astype(np.int64) + 1)
    day_text = pc.cast(day_no, pa.string())
    if language == "zh":
        values["date"] = concat_strings(
            [pc.cast(pa.array(month_no + 1), pa.string()), "月", day_text, "日"]
        )
    else:
        values["date"] = concat_strings(
            [lookup_strings(pa.array(_MONTHS_EN), month_no), " ", day_text]
        )
    for name, low, high in (("times", 2, 7), ("days", 2, 15), ("minutes", 20, 95)):
        values[name] = pc.cast(pa.array(rng.integers(low, high, n)), pa.string())
    values["amount"] = pc.cast(
        pa.array(np.round(rng.lognormal(7.5, 1.2, n), -1).astype(np.int64) + 10), pa.string()
    )
    return values


def fill_templates(
    rng: np.random.Generator, language: str, templates: tuple[str, ...], times: np.ndarray
) -> pa.Array:
    """One filled template per row: a random template, slots filled, a random opener and closer."""
    n = len(times)
    choice = rng.integers(0, len(templates), n)
    slots = slot_values(rng, language, times)
    out = pa.nulls(n, pa.string())
    for index, template in enumerate(templates):
        rows = np.flatnonzero(choice == index)
        if len(rows) == 0:
            continue
        taken = pa.array(rows)
        parts: list[pa.Array] = []
        for literal, name, _, _ in Formatter().parse(template):
            if literal:
                parts.append(pa.array([literal] * len(rows)))
            if name:
                parts.append(slots[name].take(taken))
        piece = concat_strings(parts) if len(parts) > 1 else parts[0]
        out = pc.replace_with_mask(out, pa.array(choice == index), piece)
    opener = lookup_strings(
        pa.array(_OPENERS[language]), rng.integers(0, len(_OPENERS[language]), n)
    )
    closer = lookup_strings(
        pa.array(_CLOSERS[language]), rng.integers(0, len(_CLOSERS[language]), n)
    )
    return concat_strings([opener, out, closer])
