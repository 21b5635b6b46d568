"""A Chinese lecture library as text: 25 topics in 4 "videos", each topic three
subtitle cues, with a paraphrased question per topic (written to share few
characters with the answer) and a keyword that occurs in one sentence only.

`write_eval_set(root)` lays it out in the format `vidqa eval retrieval DIR` reads
(shared/eval/README.md); `write_srt(path, video)` writes one video's subtitles
for a test that renders the video itself. Text only: nothing here is media.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CUE_S = 5.0  # each sentence is a 5 s cue
TOPIC_GAP_S = 1.0  # silence between topics (s); below the span builder's pause cut
TOPICS_PER_VIDEO = 7


@dataclass(frozen=True)
class Topic:
    sentences: tuple[str, str, str]
    question: str  # a paraphrase: few characters shared with the sentences
    keyword: str  # occurs in this topic only


TOPICS = [
    Topic(
        (
            "光合作用是绿色植物在叶绿体中进行的过程。",
            "植物吸收阳光，把二氧化碳和水转化为葡萄糖，同时释放氧气。",
            "地球上大部分生物的能量都来源于此。",
        ),
        "树叶怎样借助太阳制造养分？",
        "光合作用",
    ),
    Topic(
        (
            "长城是中国古代修建的防御工事。",
            "它绵延一万多公里，用来抵挡北方游牧民族的入侵。",
            "明朝时期对它进行了大规模的重修。",
        ),
        "古人为了防止外敌南下筑了什么？",
        "游牧民族",
    ),
    Topic(
        (
            "火山喷发时，地下的岩浆沿着裂缝上升。",
            "岩浆冲出地表以后就变成了熔岩。",
            "火山灰可以飘到几千公里以外。",
        ),
        "地底熔化的石头为什么会冒出来？",
        "岩浆",
    ),
    Topic(
        (
            "神经网络通过梯度下降来学习。",
            "每一步都沿着损失函数减小最快的方向调整权重。",
            "学习率太大时，训练会变得不稳定。",
        ),
        "模型是如何一点点修正参数变得更准的？",
        "梯度下降",
    ),
    Topic(
        (
            "复利的意思是利息本身也会产生利息。",
            "时间越长，本金增长得就越快。",
            "所以年轻时开始储蓄非常重要。",
        ),
        "为什么早点存钱能让财富像滚雪球？",
        "复利",
    ),
    Topic(
        (
            "疫苗让免疫系统提前认识病原体。",
            "接种以后，身体会产生抗体和记忆细胞。",
            "以后真正遇到病毒时，就能迅速做出反应。",
        ),
        "打针预防传染病的原理是什么？",
        "抗体",
    ),
    Topic(
        (
            "地震发生在两个板块沿着断层突然滑动的时候。",
            "释放的能量以地震波的形式向四周传播。",
            "震级每增加一级，能量大约增加三十二倍。",
        ),
        "大地为什么会剧烈摇晃？",
        "断层",
    ),
    Topic(
        (
            "做面包时，酵母会吃掉面团里的糖。",
            "它们释放出二氧化碳，让面团膨胀起来。",
            "温度太低的话，发酵就会变得很慢。",
        ),
        "烤制前的生坯为何会变得松软鼓起？",
        "酵母",
    ),
    Topic(
        (
            "二分查找每一步都把搜索范围缩小一半。",
            "所以在一百万个有序元素中，最多只需要二十次比较。",
            "前提是数据必须事先排好序。",
        ),
        "在排列整齐的列表里怎样最快定位一个数？",
        "二分查找",
    ),
    Topic(
        (
            "珊瑚礁只占海底面积的不到百分之一。",
            "却养活了大约四分之一的海洋生物。",
            "海水变暖会导致珊瑚白化死亡。",
        ),
        "海里哪种结构给大量鱼类提供了家园？",
        "白化",
    ),
    Topic(
        (
            "活字印刷术由毕昇在北宋时期发明。",
            "工匠可以把单个的字模重新排列组合。",
            "这让书籍的制作变得更便宜、更快速。",
        ),
        "古代是谁让书本可以大批复制？",
        "毕昇",
    ),
    Topic(
        (
            "脚踝扭伤以后，要先休息并冰敷。",
            "把脚抬高到心脏以上，可以减轻肿胀。",
            "四十八小时内不要热敷。",
        ),
        "崴了脚之后应该怎么处理？",
        "冰敷",
    ),
    Topic(
        (
            "当买方想要的数量正好等于卖方提供的数量时，市场达到均衡价格。",
            "需求增加时，价格通常会上涨。",
            "供给过剩则会让价格下降。",
        ),
        "商品的售价是由什么决定的？",
        "均衡价格",
    ),
    Topic(
        (
            "木星是太阳系中最大的行星。",
            "它的体积可以容纳一千多个地球。",
            "大红斑是一个持续了几百年的巨型风暴。",
        ),
        "哪颗星球比我们的家园大上千倍？",
        "大红斑",
    ),
    Topic(
        (
            "好的密码应该足够长，而且每个网站都不相同。",
            "最好用密码管理器来保存它们。",
            "开启两步验证能进一步保护账户。",
        ),
        "怎样防止账号被别人盗用？",
        "两步验证",
    ),
    Topic(
        (
            "小提琴有四根弦，按五度音程定弦。",
            "演奏者用弓摩擦琴弦发出声音。",
            "指板上没有品丝，所以音准全靠耳朵。",
        ),
        "这种拉奏乐器的音高是怎么控制的？",
        "品丝",
    ),
    Topic(
        (
            "蜜蜂通过摇摆舞告诉同伴花朵的位置。",
            "舞蹈的方向表示相对于太阳的角度。",
            "摇摆的时间长短表示距离的远近。",
        ),
        "采蜜的昆虫怎么互相通知食物在哪里？",
        "摇摆舞",
    ),
    Topic(
        (
            "电动汽车能把大约百分之九十的电池能量转化为动力。",
            "而燃油车只有百分之三十左右。",
            "刹车时还可以回收能量，给电池充电。",
        ),
        "靠电驱动的车为什么比烧油的更省？",
        "燃油车",
    ),
    Topic(
        (
            "递归就是一个函数调用它自己。",
            "每次调用处理一个更小的子问题。",
            "必须有终止条件，否则会无限地进行下去。",
        ),
        "一个过程反复套用自身来解题叫什么？",
        "终止条件",
    ),
    Topic(
        (
            "阳光在雨滴里发生折射和反射，就形成了彩虹。",
            "不同颜色的光弯折的角度不一样。",
            "所以我们看到红橙黄绿蓝靛紫七种颜色。",
        ),
        "雨后天空中七色的弧线是怎么来的？",
        "折射",
    ),
    Topic(
        (
            "一份有效的合同需要要约和承诺。",
            "双方都必须提供某种有价值的东西。",
            "未成年人签订的合同可能无效。",
        ),
        "什么样的协议在法律上才算数？",
        "要约",
    ),
    Topic(
        (
            "马拉松全程是四十二点一九五公里。",
            "这个距离来自一九零八年的伦敦奥运会。",
            "业余跑者通常需要四到五个小时才能完成。",
        ),
        "长跑比赛的标准路程有多远？",
        "伦敦奥运会",
    ),
    Topic(
        (
            "线粒体是细胞的能量工厂。",
            "它把葡萄糖分解，产生三磷酸腺苷。",
            "肌肉细胞里的线粒体特别多。",
        ),
        "身体里的微小单元靠什么获得动力？",
        "三磷酸腺苷",
    ),
    Topic(
        (
            "冰川是缓慢流动的冰河。",
            "它在山谷之间刻出深深的U形谷。",
            "全球变暖使许多冰川正在快速退缩。",
        ),
        "高山上巨大的冻结水体怎样塑造了地形？",
        "冰川",
    ),
    # Mixed Chinese and English, as Chinese software tutorials are written.
    Topic(
        (
            "在 Photoshop 里，图层让你单独编辑图片的一部分。",
            "调整图层不会破坏原始像素。",
            "用 mask 蒙版可以隐藏图层的某些区域。",
        ),
        "修图软件里怎么只改照片的局部？",
        "Photoshop",
    ),
]


def video_topics() -> list[list[Topic]]:
    return [TOPICS[i : i + TOPICS_PER_VIDEO] for i in range(0, len(TOPICS), TOPICS_PER_VIDEO)]


def topic_start(index_in_video: int) -> float:
    return index_in_video * (3 * CUE_S + TOPIC_GAP_S)


def cues(topics: list[Topic]) -> list[tuple[float, float, str]]:
    """(start, end, sentence) for every sentence of a video's topics."""
    out = []
    for n, topic in enumerate(topics):
        for k, sentence in enumerate(topic.sentences):
            start = topic_start(n) + k * CUE_S
            out.append((start, start + CUE_S, sentence))
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return (
        f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"
    )


def write_srt(path: Path, topics: list[Topic]) -> Path:
    blocks = [
        f"{n}\n{_clock(s, ',')} --> {_clock(e, ',')}\n{text}\n"
        for n, (s, e, text) in enumerate(cues(topics), 1)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def write_vtt(path: Path, topics: list[Topic]) -> Path:
    blocks = [f"{_clock(s, '.')} --> {_clock(e, '.')}\n{text}\n" for s, e, text in cues(topics)]
    path.write_text("WEBVTT\n\n" + "\n".join(blocks), encoding="utf-8")
    return path


def duration(topics: list[Topic]) -> float:
    return topic_start(len(topics)) - TOPIC_GAP_S


def write_eval_set(root: Path) -> Path:
    """videos.jsonl, transcripts/*.vtt and questions.jsonl (paraphrases) under `root`;
    keywords.jsonl holds the keyword queries in the same shape."""
    (root / "transcripts").mkdir(parents=True, exist_ok=True)
    videos, questions, keywords = [], [], []
    for v, topics in enumerate(video_topics(), 1):
        video_id = f"zh{v}"
        write_vtt(root / "transcripts" / f"{video_id}.zh.vtt", topics)
        videos.append(
            {
                "video_id": video_id,
                "title": f"中文讲座 {v}",
                "duration": duration(topics),
                "transcript": f"transcripts/{video_id}.zh.vtt",
            }
        )
        for n, topic in enumerate(topics):
            start = topic_start(n)
            gold = {"video_id": video_id, "start": start, "end": start + 3 * CUE_S}
            questions.append({"qid": f"{video_id}-{n}", "question": topic.question, **gold})
            keywords.append({"qid": f"{video_id}-{n}-kw", "question": topic.keyword, **gold})
    for name, rows in (("videos", videos), ("questions", questions), ("keywords", keywords)):
        (root / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    return root
