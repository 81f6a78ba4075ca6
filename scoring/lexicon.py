"""The sentiment prior that ships with crmstream: short bilingual phrases of customer
service and e-commerce, each a tiny labelled document the model learns from before its
first real text, so early scores mean something before any rating has arrived."""

from __future__ import annotations

POSITIVE = (
    "好", "很好", "非常好", "满意", "非常满意", "喜欢", "很喜欢", "推荐", "值得", "不错", "挺好",
    "感谢", "谢谢", "质量好", "质量很好", "物流快", "速度快", "服务好", "态度好", "专业", "耐心",
    "及时", "方便", "实惠", "划算", "性价比高", "好用", "漂亮", "完美", "放心", "惊喜", "赞",
    "good", "great", "excellent", "love", "like", "happy", "satisfied", "thanks", "thank you",
    "helpful", "fast", "quick", "recommend", "perfect", "amazing", "awesome", "works well",
    "resolved", "friendly", "professional", "worth it", "smooth", "reliable",
)
NEGATIVE = (
    "差", "很差", "太差", "非常差", "不满意", "失望", "很失望", "垃圾", "退款", "退货", "投诉",
    "骗", "坑", "慢", "太慢", "质量差", "破损", "坏了", "不好", "不行", "没用", "难用", "麻烦",
    "生气", "愤怒", "态度差", "没人理", "不回复", "假货", "贵", "太贵", "取消", "后悔", "问题",
    "bad", "terrible", "awful", "worst", "hate", "angry", "disappointed", "refund", "cancel",
    "broken", "slow", "useless", "scam", "complaint", "expensive", "never again", "bug",
    "not working", "no response", "waste", "poor", "rude",
)
EPOCHS = 3
