package sample

import "strings"

// The tables below are functions rather than package variables so that no
// caller can change them; New reads each once.

// surnameTable lists surnames with weights roughly proportional to their
// share of the population (per 100,000, after the 2020 census), plus rare
// surnames whose reading differs from the character's everyday one and a
// few compound surnames.
func surnameTable() []choice[string] {
	return []choice[string]{
		{"王", 7120}, {"李", 7000}, {"张", 6400}, {"刘", 5400}, {"陈", 4600},
		{"杨", 3100}, {"黄", 2500}, {"赵", 2300}, {"吴", 2000}, {"周", 1900},
		{"徐", 1500}, {"孙", 1500}, {"马", 1400}, {"朱", 1300}, {"胡", 1300},
		{"郭", 1200}, {"何", 1200}, {"林", 1100}, {"高", 1100}, {"罗", 1000},
		{"郑", 950}, {"梁", 900}, {"谢", 800}, {"宋", 700}, {"唐", 700},
		{"许", 700}, {"韩", 650}, {"冯", 650}, {"邓", 650}, {"曹", 600},
		{"彭", 600}, {"曾", 600}, {"肖", 550}, {"田", 550}, {"董", 500},
		{"袁", 500}, {"潘", 500}, {"于", 500}, {"蒋", 500}, {"蔡", 500},
		{"余", 480}, {"杜", 470}, {"叶", 460}, {"程", 450}, {"苏", 420},
		{"魏", 420}, {"吕", 400}, {"丁", 400}, {"任", 390}, {"沈", 380},
		{"姚", 370}, {"卢", 370}, {"姜", 360}, {"崔", 350}, {"钟", 350},
		{"谭", 340}, {"陆", 330}, {"汪", 320}, {"范", 320}, {"金", 310},
		{"石", 310}, {"廖", 300}, {"贾", 300}, {"夏", 290}, {"韦", 290},
		{"付", 280}, {"方", 280}, {"白", 270}, {"邹", 270}, {"孟", 260},
		{"熊", 260}, {"秦", 260}, {"邱", 250}, {"江", 250}, {"尹", 240},
		{"薛", 240}, {"闫", 230}, {"段", 230}, {"雷", 230}, {"侯", 220},
		{"龙", 220}, {"史", 220}, {"陶", 210}, {"黎", 210}, {"贺", 210},
		{"顾", 200}, {"毛", 200}, {"郝", 200}, {"龚", 200}, {"邵", 200},
		{"万", 190}, {"钱", 190}, {"严", 190}, {"覃", 180}, {"武", 180},
		{"戴", 180}, {"莫", 180}, {"孔", 170}, {"向", 170}, {"汤", 170},
		// Rare, and read differently as surnames: 单 Shàn, 区 Ōu, 仇 Qiú,
		// 朴 Piáo, 解 Xiè, 查 Zhā.
		{"单", 50}, {"区", 10}, {"仇", 20}, {"朴", 20}, {"解", 30}, {"查", 20},
		// Compound surnames.
		{"欧阳", 50}, {"司马", 10}, {"诸葛", 5}, {"上官", 5},
	}
}

// givenNames holds the given-name pools for one sex and three
// generations, since names follow fashion: people born before about 1965,
// from 1965 to 1989, and from 1990 on. People born near a boundary draw
// from either side.
type givenNames struct {
	old, middle, young []string
}

func maleNames() givenNames {
	return givenNames{
		old: strings.Fields(`
			山 成 富 贵 忠 武 林 华 明 才 发 生
			建国 建华 建军 国强 国华 国庆 志明 德明 德华 福生 福贵 贵生 金生 长生
			春生 永生 永福 卫国 卫东 红军 文华 明亮 玉林 荣华 新民 爱民 学文 保国
			正清 树林 连生 根生 顺利 光明 振华 家富 有才 万福`),
		middle: strings.Fields(`
			伟 强 军 勇 刚 平 斌 兵 杰 峰 辉 涛 磊 超 亮 波
			志强 永强 海涛 晓东 海洋 建伟 伟杰 俊峰 鹏飞 志勇 海波 晓明 小龙 国辉
			建平 红兵 少华 文军 振宇 志刚 晓峰 建新 海军 立新`),
		young: strings.Fields(`
			浩 鹏 宇 鑫 凯 洋 博 帅 晨 昊 睿 轩
			子轩 浩然 宇轩 梓豪 俊杰 浩宇 子豪 一鸣 天佑 宇航 博文 家豪 志鹏 文博
			明轩 思远 嘉俊 铭泽 俊熙 皓轩 雨泽 子墨 沐阳 宇辰 梓睿 奕辰 晨阳 锦程`),
	}
}

func femaleNames() givenNames {
	return givenNames{
		old: strings.Fields(`
			英 兰 梅 珍 琴 凤 秀 云 莲 菊 娥 香
			秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉珍 玉梅 淑珍 淑兰 桂芳 秀云 秀芳
			桂珍 凤兰 玉英 翠兰 翠花 春花 春兰 冬梅 腊梅 红梅 丽华 美英 金花 银花
			兰英 素珍 巧云 月英 彩霞 爱华 红英 桂香 玉芬 招娣`),
		middle: strings.Fields(`
			丽 艳 娟 燕 霞 芳 静 敏 萍 红 玲 慧
			晓燕 晓丽 丽娟 海燕 春燕 小燕 红霞 丽萍 晓红 艳红 小红 丽丽 燕妮 秀梅
			海霞 艳萍 春梅 晓梅 红艳 建英 小芳 利平 文静 美玲`),
		young: strings.Fields(`
			婷 丹 璐 欣 颖 倩 琳 雪 蕾 悦 娜 薇
			欣怡 梓涵 诗涵 子涵 雨涵 可馨 佳怡 紫萱 思雨 雨萱 一诺 梦瑶 心怡 语桐
			婷婷 娜娜 丹丹 晶晶 莉莉 佳佳 雅琪 梦琪 若曦 依诺 美琳 欣妍 诗琪 思彤`),
	}
}

// ageBand is a range of ages, inclusive, drawn uniformly once the band is
// chosen.
type ageBand struct{ lo, hi int }

// ageTable weights age bands like the follow-up list of a village clinic,
// where the elderly and the chronically ill dominate: about 54% are 60 or
// over.
func ageTable() []choice[ageBand] {
	return []choice[ageBand]{
		{ageBand{0, 4}, 35},
		{ageBand{5, 14}, 55},
		{ageBand{15, 29}, 80},
		{ageBand{30, 44}, 100},
		{ageBand{45, 59}, 190},
		{ageBand{60, 69}, 230},
		{ageBand{70, 79}, 200},
		{ageBand{80, 89}, 90},
		{ageBand{90, maxAge}, 20},
	}
}

// phonePrefixTable lists mainland mobile prefixes with weights leaning to
// China Mobile, which has most rural subscribers.
func phonePrefixTable() []choice[string] {
	return []choice[string]{
		// China Mobile.
		{"134", 6}, {"135", 6}, {"136", 6}, {"137", 6}, {"138", 6}, {"139", 6},
		{"150", 4}, {"151", 4}, {"152", 4}, {"157", 4}, {"158", 4}, {"159", 4},
		{"182", 3}, {"183", 3}, {"184", 3}, {"187", 4}, {"188", 4},
		{"178", 2}, {"198", 2},
		// China Unicom.
		{"130", 4}, {"131", 4}, {"132", 4}, {"155", 3}, {"156", 3},
		{"185", 3}, {"186", 3}, {"166", 2}, {"175", 2}, {"176", 2},
		// China Telecom.
		{"133", 4}, {"153", 3}, {"180", 3}, {"181", 3}, {"189", 4},
		{"173", 2}, {"177", 2}, {"199", 2},
		// Virtual operators.
		{"170", 1},
	}
}

// allergyTable lists allergies by their stored key, with the Chinese term
// clinic staff use, weighted by how often they appear in rural records.
// Streptomycin is there because many older patients met it in
// tuberculosis treatment.
func allergyTable() []choice[string] {
	return []choice[string]{
		{"penicillin", 30},     // 青霉素
		{"sulfonamides", 12},   // 磺胺
		{"cephalosporins", 10}, // 头孢
		{"seafood", 12},        // 海鲜
		{"pollen", 10},         // 花粉
		{"aspirin", 5},         // 阿司匹林
		{"streptomycin", 5},    // 链霉素
	}
}

// diagnosis is an ICD-10 category with weights for patients under 30 and
// for older ones.
type diagnosis struct {
	code         string
	young, adult int
}

// diagnosisTable weights ICD-10 categories toward the chronic diseases that
// village doctors follow up under the national basic public health service
// (hypertension, type 2 diabetes, severe mental disorders, tuberculosis)
// and the other common complaints of an ageing rural population.
func diagnosisTable() []diagnosis {
	return []diagnosis{
		{"I10", 10, 300}, // 原发性高血压 essential hypertension
		{"E11", 5, 120},  // 2型糖尿病 type 2 diabetes
		{"J44", 0, 60},   // 慢性阻塞性肺疾病 COPD
		{"I25", 0, 60},   // 慢性缺血性心脏病 chronic ischaemic heart disease
		{"K29", 40, 70},  // 胃炎和十二指肠炎 gastritis and duodenitis
		{"M54", 20, 70},  // 背痛 dorsalgia
		{"M17", 0, 50},   // 膝关节病 knee osteoarthritis
		{"E78", 5, 50},   // 高脂血症 hyperlipidaemia
		{"I63", 0, 40},   // 脑梗死 cerebral infarction
		{"H25", 0, 30},   // 老年性白内障 senile cataract
		{"N18", 1, 15},   // 慢性肾脏病 chronic kidney disease
		{"B18", 10, 15},  // 慢性病毒性肝炎 chronic viral hepatitis
		{"I50", 0, 15},   // 心力衰竭 heart failure
		{"J45", 20, 10},  // 哮喘 asthma
		{"F20", 5, 5},    // 精神分裂症 schizophrenia
		{"A15", 3, 3},    // 呼吸道结核 respiratory tuberculosis
	}
}

// diagnosisCounts gives, for an age, the weights of having 0, 1, 2 or 3
// diagnoses.
func diagnosisCounts(age int) [4]int {
	switch {
	case age < 18:
		return [4]int{92, 7, 1, 0}
	case age < 45:
		return [4]int{70, 22, 7, 1}
	case age < 60:
		return [4]int{40, 35, 18, 7}
	}
	return [4]int{20, 35, 30, 15}
}

// villageRegion selects the pool of made-up village names that sound right
// for an area.
type villageRegion int

const (
	southwest villageRegion = iota // Yunnan, Guizhou, Sichuan, Guangxi, western Hunan, Hainan
	north                          // the loess plateau and the northern plain
	southeast                      // the hills of Jiangxi, southern Henan, eastern Hunan
)

// villageStems returns village names without the 村 suffix.
func villageStems(r villageRegion) []string {
	switch r {
	case north:
		return strings.Fields(`
			王庄 李庄 张庄 刘庄 赵庄 前营 后营 东关 西关 小王庄 大李庄 郭楼 陈楼
			孙集 周寨 徐庄 杨家沟 马家湾 高家堡 何家岔 石咀 梁家峁 张家塬 刘家河
			东坡 西坡 南堡 北堡 后沟 前进`)
	case southeast:
		return strings.Fields(`
			上屋 下屋 新屋 塘背 坑口 岭背 石下 排上 田心 桥头 老屋 大坑 河口 龙岗
			白石 黄泥塘 荷塘 竹山 枫树 长岭 高桥 新塘 官田 山下 樟树`)
	}
	return strings.Fields(`
		大寨 新寨 上寨 下寨 中寨 大坪 坪子 岩脚 龙潭 凉水井 石板 河边 平安 团结
		田坝 水井湾 杉木 松林 白岩 坡头 岔河 马鞍山 和平 大箐 小河 竹林 沙坝
		新田 高坡 落水洞`)
}

// township is a real township-level division. villages, if any, are real
// villages in it; the generator mixes them with made-up ones.
type township struct {
	name     string
	villages []string
}

// area is a real county-level division, with the province and prefecture
// that make up the start of an address. prefecture is empty for counties
// governed directly by the province.
type area struct {
	code                         string // GB/T 2260, positions 1-6 of an ID number
	province, prefecture, county string
	region                       villageRegion
	townships                    []township
}

// prefix returns the start of an address in the area.
func (a *area) prefix() string {
	return a.province + a.prefecture + a.county
}

// townships builds townships without listed villages.
func towns(names ...string) []township {
	t := make([]township, len(names))
	for i, n := range names {
		t[i].name = n
	}
	return t
}

// areaTable lists rural (and a few peri-urban) counties, mostly in the
// south-west and the north-west where village clinics carry most of the
// follow-up work.
func areaTable() []area {
	return []area{
		// Yunnan.
		{"532528", "云南省", "红河州", "元阳县", southwest, append([]township{
			{"新街镇", []string{"土锅寨村", "箐口村", "全福庄村"}},
		}, towns("南沙镇", "牛角寨镇", "马街乡", "俄扎乡", "攀枝花乡", "黄茅岭乡")...)},
		{"532524", "云南省", "红河州", "建水县", southwest, towns("临安镇", "官厅镇", "西庄镇", "青龙镇", "南庄镇", "曲江镇", "面甸镇")},
		{"530102", "云南省", "昆明市", "五华区", southwest, towns("沙朗街道", "厂口街道")},
		{"530621", "云南省", "昭通市", "鲁甸县", southwest, towns("文屏镇", "龙头山镇", "水磨镇", "小寨镇", "江底镇", "火德红镇", "乐红镇", "桃源乡", "茨院乡")},
		{"530627", "云南省", "昭通市", "镇雄县", southwest, towns("泼机镇", "以勒镇", "芒部镇", "母享镇", "塘房镇")},
		{"532326", "云南省", "楚雄州", "大姚县", southwest, towns("金碧镇", "石羊镇", "龙街镇", "赵家店镇", "桂花镇")},
		// Guizhou.
		{"522632", "贵州省", "黔东南州", "榕江县", southwest, towns("古州镇", "忠诚镇", "寨蒿镇", "朗洞镇", "乐里镇")},
		{"522634", "贵州省", "黔东南州", "雷山县", southwest, append([]township{
			{"西江镇", []string{"羊排村", "东引村"}},
		}, towns("丹江镇", "永乐镇", "郎德镇", "大塘镇", "望丰乡", "方祥乡", "达地乡")...)},
		{"522633", "贵州省", "黔东南州", "从江县", southwest, towns("丙妹镇", "贯洞镇", "洛香镇", "下江镇", "宰便镇")},
		// Sichuan.
		{"513432", "四川省", "凉山州", "喜德县", southwest, towns("光明镇", "冕山镇", "红莫镇")},
		{"511921", "四川省", "巴中市", "通江县", southwest, towns("诺江镇", "民胜镇", "洪口镇", "毛浴镇", "铁佛镇", "沙溪镇")},
		{"511725", "四川省", "达州市", "渠县", southwest, towns("三汇镇", "土溪镇", "有庆镇", "临巴镇", "涌兴镇", "贵福镇")},
		// Guangxi.
		{"451226", "广西壮族自治区", "河池市", "环江毛南族自治县", southwest, towns("思恩镇", "川山镇", "明伦镇", "水源镇", "洛阳镇", "下南乡")},
		{"451228", "广西壮族自治区", "河池市", "都安瑶族自治县", southwest, towns("安阳镇", "地苏镇", "高岭镇", "下坳镇")},
		{"451027", "广西壮族自治区", "百色市", "凌云县", southwest, towns("泗城镇", "逻楼镇", "加尤镇", "下甲镇")},
		// Hunan.
		{"433130", "湖南省", "湘西州", "龙山县", southwest, towns("里耶镇", "洗车河镇", "石牌镇", "苗儿滩镇")},
		{"433124", "湖南省", "湘西州", "花垣县", southwest, append([]township{
			{"双龙镇", []string{"十八洞村"}},
		}, towns("花垣镇", "边城镇", "龙潭镇", "吉卫镇", "麻栗场镇")...)},
		{"431225", "湖南省", "怀化市", "会同县", southeast, towns("林城镇", "坪村镇", "若水镇", "堡子镇", "高椅乡")},
		// Hainan.
		{"469025", "海南省", "", "白沙黎族自治县", southwest, towns("牙叉镇", "七坊镇", "邦溪镇", "打安镇")},
		// Jiangxi.
		{"360735", "江西省", "赣州市", "石城县", southeast, towns("琴江镇", "小松镇", "屏山镇", "横江镇", "高田镇")},
		{"360731", "江西省", "赣州市", "于都县", southeast, towns("贡江镇", "梓山镇", "银坑镇", "岭背镇", "禾丰镇")},
		// Henan.
		{"411625", "河南省", "周口市", "郸城县", north, towns("宁平镇", "汲冢镇", "钱店镇", "宜路镇")},
		{"411723", "河南省", "驻马店市", "平舆县", north, towns("射桥镇", "阳城镇", "庙湾镇")},
		{"411522", "河南省", "信阳市", "光山县", southeast, towns("马畈镇", "泼陂河镇", "白雀园镇", "砖桥镇")},
		{"411525", "河南省", "信阳市", "固始县", southeast, towns("陈淋子镇", "黎集镇", "往流镇", "郭陆滩镇", "三河尖镇")},
		// Anhui.
		{"341221", "安徽省", "阜阳市", "临泉县", north, towns("杨桥镇", "鲖城镇", "老集镇", "韦寨镇", "姜寨镇")},
		// Shandong.
		{"371726", "山东省", "菏泽市", "鄄城县", north, towns("什集镇", "红船镇", "旧城镇", "临濮镇", "董口镇")},
		{"371721", "山东省", "菏泽市", "曹县", north, towns("大集镇", "庄寨镇", "韩集镇", "青岗集镇", "魏湾镇")},
		// Hebei.
		{"130726", "河北省", "张家口市", "蔚县", north, towns("蔚州镇", "暖泉镇", "代王城镇", "西合营镇", "南留庄镇")},
		// Shanxi.
		{"141124", "山西省", "吕梁市", "临县", north, append([]township{
			{"碛口镇", []string{"李家山村", "西湾村"}},
		}, towns("临泉镇", "三交镇", "林家坪镇", "招贤镇")...)},
		// Shaanxi.
		{"610827", "陕西省", "榆林市", "米脂县", north, append([]township{
			{"杨家沟镇", []string{"杨家沟村"}},
		}, towns("沙家店镇", "印斗镇", "桃镇")...)},
		{"610826", "陕西省", "榆林市", "绥德县", north, towns("名州镇", "义合镇", "四十铺镇", "枣林坪镇")},
		// Gansu.
		{"621121", "甘肃省", "定西市", "通渭县", north, towns("平襄镇", "马营镇", "鸡川镇", "榜罗镇")},
		{"621126", "甘肃省", "定西市", "岷县", north, towns("岷阳镇", "梅川镇", "闾井镇", "茶埠镇")},
		{"621226", "甘肃省", "陇南市", "礼县", north, towns("城关镇", "盐官镇", "祁山镇")},
		{"620522", "甘肃省", "天水市", "秦安县", north, towns("兴国镇", "陇城镇", "莲花镇")},
	}
}
