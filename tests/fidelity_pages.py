"""Article pages for the fidelity tests (tests/test_fidelity.py): a small outlet whose
stories put inline links inside words and before punctuation, split their body with ad
slots, continue it after an in-story box, or hide its rest behind a "read more" expander.

Every story has its own paragraphs (the outlet's learned boilerplate would rightly remove
text repeated across its pages), several of them long, as a real article has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Story:
    path: str
    title: str
    body_html: str  # what goes inside <article> after the headline and byline
    paragraphs: tuple[str, ...] = ()  # the story's paragraphs as a reader sees them, in order
    lang: str = "en"


def page(story: Story) -> bytes:
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": story.title,
                     "datePublished": "2026-01-20T08:30:00+00:00",
                     "author": {"@type": "Person", "name": "Helen Marsh"}}, ensure_ascii=False)
    title = escape(story.title)
    return f"""<!doctype html>
<html lang="{story.lang}"><head><meta charset="utf-8"><title>{title} | The Fidelity Herald</title>
<meta property="og:type" content="article"><meta property="og:title" content="{title}">
<script type="application/ld+json">{ld}</script></head>
<body>
<header class="site-header"><a class="logo" href="/">The Fidelity Herald</a>
<nav><a href="/news/">News</a> <a href="/business/">Business</a> <a href="/sport/">Sport</a></nav></header>
<main><article class="story">
<h1>{title}</h1>
<p class="byline">By Helen Marsh</p>
<time datetime="2026-01-20T08:30:00+00:00">20 January 2026</time>
{story.body_html}
</article></main>
<footer><p>© 2026 The Fidelity Herald. All rights reserved.</p></footer>
</body></html>""".encode("utf-8")


def paras(texts) -> str:
    return "\n".join(f"<p>{t}</p>" for t in texts)


# --------------------------------------------------------------------------- inline links

EN_INLINE = Story(
    "/news/rural-buses-powers",
    "Councils to get powers to run their own bus services",
    paras([
        'Ministers have promised sweeping changes i<a href="/explainers/rural-transport">n</a> their approach '
        "to rural bus services after a year in which more than two hundred routes were cut, leaving villages "
        "across the north of England without a single daily connection to the nearest market town.",
        'The plan was first discussed priva<a href="/politics/cabinet">t</a>ely at a cabinet meeting in '
        "November, according to two officials familiar with the talks, and was then set out in the King's "
        '<a href="/politics/kings-speech">Speech</a>, which promised a bill letting local authorities set '
        "fares and timetables without waiting for permission from Whitehall.",
        "Council leaders welcomed the announcement but warned that new powers would mean little without "
        "money to pay for drivers and vehicles. The Local Government Association estimates that keeping "
        "the current network running would cost an extra four hundred million pounds a year by 2030.",
        "Passenger groups said the cuts had fallen hardest on older people and teenagers, who are the least "
        "likely to own a car. In parts of Cumbria, pupils now leave home before seven in the morning to "
        "reach school on time because the only bus of the day sets off so early.",
        "The transport secretary is expected to publish the bill in the spring, with the first councils "
        "able to take over routes from the following year. Operators have asked to be consulted on how "
        "contracts will be awarded and how existing depots and staff will be transferred.",
    ]),
)
EN_EXPECTED = ("changes in their", "privately", "King's Speech, which")

DE_INLINE = Story(
    "/news/haushalt-kabinett",
    "Kabinett will Haushalt noch vor der Sommerpause beschließen",
    paras([
        'Der Bundes<a href="/thema/bundesregierung">regierung</a>s&shy;sprecher kündigte am Montag in Berlin '
        "an, dass das Kabinett den Entwurf für den Haushalt des kommenden Jahres noch vor der Sommerpause "
        "beschließen werde. Die Koalition hatte sich nach wochenlangen Verhandlungen auf die Grundzüge "
        "geeinigt, wichtige Einzelheiten seien aber weiterhin offen.",
        'Der Finanzminister nannte den Kompromiss „<a href="/thema/schuldenbremse">einen tragfähigen Weg</a>“, '
        "der die Schuldenbremse einhalte und dennoch Spielraum für Investitionen in Schienen, Brücken und "
        "Schulen lasse. Kritiker aus der Opposition sprachen dagegen von einem Haushalt der verpassten Chancen.",
        'Die Verkehrs<a href="/personen/verkehrsministerin">minister</a>in verwies auf den Zustand vieler '
        "Autobahnbrücken, von denen mehrere Hundert in den kommenden zehn Jahren ersetzt werden müssten. "
        "Ohne zusätzliche Mittel drohten Sperrungen, die vor allem den Güterverkehr treffen würden.",
        "Die Länder fordern seit Monaten mehr Geld für den Nahverkehr und die Unterbringung von Geflüchteten. "
        "Mehrere Ministerpräsidenten kündigten an, den Entwurf genau zu prüfen und ihre Forderungen im "
        "Bundesrat noch einmal deutlich zu machen, bevor der Bundestag im Herbst abstimmt.",
        "Wirtschaftsverbände begrüßten, dass die Koalition auf Steuererhöhungen verzichten will. Gleichzeitig "
        "mahnten sie schnellere Genehmigungsverfahren an, damit das Geld für Investitionen auch tatsächlich "
        "ausgegeben werden könne und nicht wie in den vergangenen Jahren liegen bleibe.",
    ]),
    lang="de",
)
DE_EXPECTED = ("Bundesregierungssprecher", "„einen tragfähigen Weg“, der", "Verkehrsministerin")

JA_INLINE = Story(
    "/news/ooame-keikai",
    "西日本で大雨の恐れ　気象庁が警戒呼びかけ",
    paras([
        '気象庁<a href="/tags/jma">は</a>13日、西日本を中心に大気の状態が非常に不安定になっているとして、'
        "土砂災害や河川の氾濫に警戒するよう呼びかけました。前線に向かって暖かく湿った空気が流れ込み、"
        "局地的に雷を伴った非常に激しい雨が降る見込みです。",
        "九州北部では14日朝までの24時間に多いところで250ミリの雨が予想されています。"
        "すでに雨量が多くなっている地域では、わずかな雨でも土砂災害の危険度が高まるおそれがあります。",
        "福岡県や佐賀県の一部の市町村は、川の近くや山沿いに住む人たちに避難指示を出しました。"
        "市役所は体育館や公民館に避難所を開設し、食料や毛布の準備を進めています。",
        "鉄道会社は一部の路線で運転を見合わせており、高速道路でも通行止めの区間が出ています。"
        "航空各社も午後の便を中心に欠航を決め、空港ではカウンターに長い列ができました。",
        "気象台の担当者は、夜間に雨が強まる可能性があるため、明るいうちに安全な場所へ移動してほしいと話しています。"
        "最新の気象情報や自治体の避難情報をこまめに確認するよう呼びかけています。",
    ]),
    lang="ja",
)
JA_EXPECTED = ("気象庁は13日",)


# --------------------------------------------------------------------------- split bodies

HARBOUR = (
    "Work to rebuild the old fish quay at Whitby harbour will begin in March, the borough council "
    "confirmed on Monday, ending three years of arguments over how the crumbling stonework should be "
    "repaired and who should pay for it. The scheme, costing just under eighteen million pounds, will "
    "replace the eastern wall and add a covered market hall for the fishing fleet.",
    "Engineers found last year that parts of the quay had been undermined by the sea and could collapse "
    "in a severe storm. Since then the northern berths have been closed, forcing several boats to land "
    "their catch at Scarborough and drive it back by lorry, which skippers say has cost them thousands "
    "of pounds a month in fuel and lost sales.",
    "The council's cabinet member for regeneration said the decision had not been easy but that doing "
    "nothing was no longer an option. Most of the money comes from a government levelling-up grant, with "
    "the rest borrowed against future harbour dues and rents from the new market units.",
    "Fishermen have broadly welcomed the plan, although some are worried about the disruption during "
    "the eighteen months of building work. The harbour master has promised that at least two berths will "
    "stay open throughout, and that boats will be told a week in advance of any closure.",
    "Traders on the quayside are less certain. Several cafes and gift shops depend on visitors who come "
    "to watch the boats unload, and they fear that hoardings and heavy machinery will keep tourists away "
    "during the summer season, when they make most of their money for the year.",
    "The council says it will phase the work so that the busiest stretch of the quay is finished before "
    "the summer holidays, and it has set aside a small fund to help businesses that can show they have "
    "lost trade. Applications will open once the contractor has published its detailed timetable.",
    "A public exhibition of the final designs will be held in the Pannett Art Gallery from next week, "
    "and residents can leave comments until the end of February. Councillors will then be asked to "
    "approve the contract at their meeting on the fourth of March.",
)

SPLIT_BODY = Story(
    "/news/whitby-quay-rebuild",
    "Work to rebuild Whitby fish quay to start in March",
    f"""<div class="article-body">{paras(HARBOUR[:2])}</div>
<div class="ad ad-slot" id="ad-slot-1"><span class="ad-label">Advertisement</span></div>
<div class="article-body">{paras(HARBOUR[2:5])}</div>
<div class="ad ad-slot" id="ad-slot-2"><span class="ad-label">Advertisement</span></div>
<div class="article-body">{paras(HARBOUR[5:])}</div>""",
    HARBOUR,
)

HOSPITAL = (
    "Patients waiting for hip and knee operations in Leeds will be offered treatment at a new surgical "
    "hub in Wharfedale from April, the hospital trust said on Thursday, as it tries to bring down one of "
    "the longest waiting lists in the country. Around six thousand people are currently waiting more than "
    "a year for routine orthopaedic surgery across West Yorkshire.",
    "The hub will have four operating theatres and thirty beds reserved for planned operations, so that "
    "they cannot be cancelled when emergency admissions rise in winter. The trust's medical director said "
    "that separating planned surgery from emergency care was the single most effective change it could "
    "make to keep operations going through the busiest months.",
    "Staff for the new theatres will come partly from the trust's own teams and partly from a recruitment "
    "drive overseas. Forty nurses from India and the Philippines have already accepted posts, and the "
    "trust is still looking for anaesthetists, who are in short supply across the region.",
    "Patient groups welcomed the news but said many people on the list were in constant pain and had "
    "been forced to give up work while they waited. One man from Otley said he had been told three "
    "times that his operation was imminent, only for it to be postponed at the last minute.",
    "The trust admitted that the waiting list would not fall quickly. Even with the new hub running at "
    "full capacity, it expects to need another two years to clear the backlog built up during and after "
    "the pandemic, and it warned that a bad winter could slow progress again.",
    "Local MPs have asked the health secretary to guarantee the money needed to keep the hub open beyond "
    "its first three years. The building was paid for with a one-off capital grant, but the running "
    "costs will have to come from the trust's ordinary budget, which is already under strain.",
    "Patients who are offered a place at the hub can choose to stay on the list at their usual hospital "
    "instead. The trust says it will contact everyone who is eligible by letter over the coming weeks, "
    "starting with those who have waited longest.",
)

AFTER_BOX = Story(
    "/news/wharfedale-surgical-hub",
    "New surgical hub to cut orthopaedic waiting times in Leeds",
    f"""<div class="article-body">
{paras(HOSPITAL[:3])}
<div class="inline-ad"><p class="ad-label">Advertisement</p><div class="ad-unit" data-slot="mid-article"></div></div>
<div class="newsletter-signup"><h3>Get the Yorkshire Health Briefing</h3>
<p>Sign up for our free weekly newsletter about health services in the region.</p>
<form action="/subscribe"><input type="email" name="email" placeholder="Your email address"><button>Sign up</button></form></div>
{paras(HOSPITAL[3:])}
</div>""",
    HOSPITAL,
)
AD_LABELS = ("Advertisement", "Get the Yorkshire Health Briefing", "Sign up for our free weekly newsletter")

SCHOOLS = (
    "Primary schools in Norfolk will share an extra twelve million pounds next year to pay for teaching "
    "assistants and support for pupils with special educational needs, the county council has announced. "
    "Head teachers had warned that many schools were running deficits and would have to cut staff in the "
    "summer without more money from the council or the government.",
    "The funding will be shared according to the number of pupils with an education, health and care "
    "plan, which sets out the help a child is legally entitled to. The number of such plans in Norfolk "
    "has almost doubled in five years, and the council's high-needs budget is expected to overspend "
    "again this year.",
    "The council's cabinet member for children's services said the money was a stopgap rather than a "
    "solution. She said the way special needs support is paid for nationally was broken and that councils "
    "across the country faced the same pressures, whatever their political leadership.",
    "Parents of children with special needs said the announcement was welcome but came too late for some "
    "families. One mother from Dereham said her son had waited fourteen months for an assessment, and that "
    "she had given up her job to teach him at home while the council decided what support he needed.",
    "The government has promised to publish plans for reforming special needs provision later this year. "
    "Ministers have said they want more children to be supported in mainstream schools, closer to home, "
    "rather than travelling long distances to specialist places in the independent sector.",
    "Head teachers' unions said any reform would have to be matched by more money for mainstream schools, "
    "which would need extra staff and training to support pupils with complex needs. They also called for "
    "faster assessments, saying long delays made problems harder and more expensive to solve.",
    "The extra funding will be paid to schools in two instalments, in April and September. Schools will "
    "have to report how the money has been spent, and the council says it will publish a summary of the "
    "results at the end of the school year.",
)

FLOODS = (
    "Work on new flood defences along the River Severn at Shrewsbury will begin in the autumn after the "
    "Environment Agency confirmed funding for the twenty-three million pound scheme. The town has flooded "
    "four times in the past six years, and hundreds of homes and businesses in the Frankwell and Coleham "
    "areas have been damaged repeatedly by the rising river.",
    "The scheme includes a new embankment on the western bank, demountable barriers that can be put up "
    "when a flood is forecast, and larger pumps to stop water backing up through the drains. Engineers "
    "say the defences will protect around seven hundred properties against a flood of the size expected "
    "once in every hundred years.",
    "Business owners in Frankwell said the news was long overdue. Several cafes and shops near the river "
    "have been unable to get flood insurance at an affordable price, and some have closed for good after "
    "being flooded for a second or third time in the space of a few winters.",
    "The Environment Agency said the design had been changed after a public consultation last year, when "
    "residents objected to plans for a permanent wall that would have blocked views of the river. The new "
    "barriers will be stored in a depot nearby and put in place only when they are needed.",
    "Building work is expected to take two years, with some footpaths along the river closed while the "
    "embankment is built. The agency has promised to keep the riverside walk to the Quarry park open "
    "during the summer months, when it is most used by visitors and families.",
    "Campaigners upstream in Wales have asked for more to be done to slow the flow of water before it "
    "reaches towns such as Shrewsbury, including planting trees and restoring peat bogs in the hills. The "
    "agency said it was working with farmers on such schemes, but they would take years to have an effect.",
    "A drop-in session for residents will be held at the Theatre Severn next Tuesday, where engineers will "
    "answer questions about the work and the temporary closures. Detailed plans are also available to "
    "view at the town library.",
)

RAIL = (
    "Passengers on the Cambrian line will get an hourly train service between Shrewsbury and Aberystwyth "
    "from May, Transport for Wales has confirmed, after years of campaigning by communities along the "
    "route. At present trains run roughly every two hours for much of the day, with long gaps in the "
    "afternoon that make commuting and travel to college difficult.",
    "The new timetable has been made possible by the arrival of refurbished trains that were moved from "
    "other routes in Wales, and by changes to the signalling system that allow trains to pass each other "
    "at more stations. The operator said the extra services would add around half a million seats a year.",
    "Councillors in Machynlleth and Newtown said the change would make a real difference to young people "
    "who want to stay in the area, as it would make it possible to reach jobs and courses in Shrewsbury "
    "and Aberystwyth without a car. Bus connections at several stations are also being retimed.",
    "Rail unions welcomed the announcement but said the operator would need to recruit more drivers and "
    "conductors to run the extra trains reliably. They pointed to cancellations last winter, when staff "
    "shortages left some stations without a train for most of the day.",
    "Transport for Wales said it had already trained twenty new drivers for the line and that more were "
    "due to qualify before the summer. It also promised to publish monthly figures on cancellations and "
    "punctuality for the Cambrian line so that passengers could judge the new service for themselves.",
    "Tourism businesses along the coast hope the hourly service will bring more day visitors in the summer, "
    "when roads into the area are often congested. Several hotels in Aberdyfi and Barmouth said they would "
    "promote rail travel to guests and offer discounts to those arriving by train.",
    "The first hourly trains will run on the nineteenth of May, when the new national timetable begins. "
    "Tickets and journey planners will be updated several weeks before, and the operator says it will "
    "hold information events at the larger stations along the route.",
)

READ_MORE_HIDDEN = Story(
    "/news/norfolk-schools-send-funding",
    "Norfolk primary schools to share £12m for special needs support",
    f"""<div class="article-body">
{paras(SCHOOLS[:2])}
<button class="read-more-button" aria-expanded="false">Read more</button>
<div class="read-more-content" hidden>
{paras(SCHOOLS[2:])}
</div>
</div>""",
    SCHOOLS,
)

READ_MORE_DISPLAY_NONE = Story(
    "/news/shrewsbury-flood-defences",
    "Shrewsbury flood defence work to begin in the autumn",
    f"""<div class="article-body">
{paras(FLOODS[:2])}
<a class="continue-reading" href="#rest">Continue reading</a>
<div class="read-more-content" id="rest" style="display:none">
{paras(FLOODS[2:])}
</div>
</div>""",
    FLOODS,
)

READ_MORE_DETAILS = Story(
    "/news/cambrian-line-hourly-trains",
    "Hourly trains for the Cambrian line from May",
    f"""<div class="article-body">
{paras(RAIL[:2])}
<details class="story-continued"><summary>Read the full story</summary>
{paras(RAIL[2:])}
</details>
</div>""",
    RAIL,
)

INLINE = (EN_INLINE, DE_INLINE, JA_INLINE)
# How a page may set out its paragraphs: as <p> elements, as <div> lines, or as runs of
# text separated by <br><br> inside one div (where trafilatura, left to itself, trims
# the text around a link and splits "changes i<a>n</a> their" into "changes i n their").
LAYOUTS = ("p", "div", "br")


def laid_out(story: Story, layout: str) -> Story:
    body = story.body_html
    if layout == "div":
        body = '<div class="article-text">' + body.replace("<p>", "<div>").replace("</p>", "</div>") + "</div>"
    elif layout == "br":
        body = ('<div class="article-text">' + body.replace("<p>", "").replace("</p>\n", "<br><br>\n")
                .replace("</p>", "") + "</div>")
    return Story(story.path, story.title, body, story.paragraphs, story.lang)
SPLIT = (SPLIT_BODY, AFTER_BOX)
READ_MORE = (READ_MORE_HIDDEN, READ_MORE_DISPLAY_NONE, READ_MORE_DETAILS)
STORIES = INLINE + SPLIT + READ_MORE
