"""Short texts written for the tests, one per language, on ordinary news topics."""

URDU = (
    "وزیر اعظم نے آج اسلام آباد میں کابینہ کے اجلاس کی صدارت کی جس میں ملک کی معاشی صورتحال پر "
    "تفصیلی غور کیا گیا۔ اجلاس میں فیصلہ کیا گیا کہ بجلی کی قیمتوں میں کمی کے لیے ایک کمیٹی بنائی "
    "جائے گی جو دو ہفتوں میں اپنی سفارشات پیش کرے گی۔ وزیر خزانہ نے بتایا کہ مہنگائی کی شرح میں "
    "کمی آ رہی ہے اور آئندہ مہینوں میں مزید بہتری کی توقع ہے۔"
)
ARABIC = (
    "ترأس رئيس الوزراء اليوم اجتماع مجلس الوزراء في العاصمة، حيث ناقش المجلس الأوضاع الاقتصادية "
    "في البلاد بشكل مفصل. وقرر المجلس تشكيل لجنة لدراسة خفض أسعار الكهرباء على أن تقدم توصياتها "
    "خلال أسبوعين. وأوضح وزير المالية أن معدل التضخم يشهد تراجعا وأنه يتوقع مزيدا من التحسن في "
    "الأشهر المقبلة."
)
PERSIAN = (
    "نخست وزیر امروز ریاست جلسه هیئت دولت را در پایتخت بر عهده داشت و وضعیت اقتصادی کشور به طور "
    "مفصل بررسی شد. در این جلسه تصمیم گرفته شد که کمیته‌ای برای کاهش قیمت برق تشکیل شود و "
    "پیشنهادهای خود را ظرف دو هفته ارائه کند. وزیر دارایی گفت که نرخ تورم در حال کاهش است و "
    "انتظار می‌رود در ماه‌های آینده بهبود بیشتری حاصل شود."
)
HINDI = (
    "प्रधानमंत्री ने आज नई दिल्ली में मंत्रिमंडल की बैठक की अध्यक्षता की जिसमें देश की आर्थिक स्थिति पर "
    "विस्तार से चर्चा की गई। बैठक में फैसला किया गया कि बिजली की कीमतों में कमी के लिए एक समिति बनाई "
    "जाएगी जो दो हफ्तों में अपनी सिफारिशें देगी। वित्त मंत्री ने कहा कि महंगाई की दर में कमी आ रही है "
    "और आने वाले महीनों में और सुधार की उम्मीद है।"
)
MARATHI = (
    "पंतप्रधानांनी आज नवी दिल्ली येथे मंत्रिमंडळाच्या बैठकीचे अध्यक्षपद भूषवले आणि देशाच्या आर्थिक "
    "परिस्थितीवर सविस्तर चर्चा करण्यात आली. बैठकीत असे ठरवण्यात आले की वीजदर कमी करण्यासाठी एक "
    "समिती स्थापन केली जाईल आणि ती दोन आठवड्यांत आपल्या शिफारसी सादर करेल. अर्थमंत्र्यांनी सांगितले "
    "की महागाईचा दर कमी होत आहे आणि पुढील महिन्यांमध्ये आणखी सुधारणा अपेक्षित आहे."
)
NEPALI = (
    "प्रधानमन्त्रीले आज काठमाडौंमा मन्त्रिपरिषद्को बैठकको अध्यक्षता गर्नुभयो र देशको आर्थिक अवस्थाबारे "
    "विस्तृत छलफल भएको छ। बैठकले बिजुलीको मूल्य घटाउनका लागि एउटा समिति गठन गर्ने निर्णय गरेको छ र "
    "समितिले दुई हप्ताभित्र आफ्नो सिफारिस पेस गर्नेछ। अर्थमन्त्रीले महँगीको दर घट्दै गएको बताउनुभयो र "
    "आगामी महिनाहरूमा थप सुधार हुने अपेक्षा गरिएको छ।"
)
BENGALI = (
    "প্রধানমন্ত্রী আজ ঢাকায় মন্ত্রিসভার বৈঠকে সভাপতিত্ব করেন, যেখানে দেশের অর্থনৈতিক পরিস্থিতি নিয়ে "
    "বিস্তারিত আলোচনা হয়। বৈঠকে সিদ্ধান্ত হয় যে বিদ্যুতের দাম কমানোর জন্য একটি কমিটি গঠন করা হবে।"
)
CHINESE = (
    "国务院总理今天在北京主持召开国务院常务会议，详细讨论了当前的经济形势。会议决定成立一个委员会，"
    "研究降低电价的办法，并在两周内提出建议。财政部长表示，通货膨胀率正在下降，预计未来几个月将进一步改善。"
)
ENGLISH = (
    "The prime minister chaired a cabinet meeting in the capital on Tuesday, where ministers discussed "
    "the state of the economy in detail. The cabinet decided to form a committee to study ways of "
    "lowering electricity prices, which will present its recommendations within two weeks."
)

# A wire story as an agency sends it; two outlets republish it with their own furniture.
WIRE_STORY = """\
Floodwaters rose across the northern river valley on Monday after three days of heavy rain, \
forcing thousands of families to leave their homes and seek shelter in schools and mosques on \
higher ground, officials said.

The provincial disaster management authority said at least 14 people had died, most of them \
when walls and roofs collapsed under the weight of water, and that rescue teams were still \
searching for several people reported missing in remote villages that could only be reached by boat.

"The water came at night and there was no time to take anything with us," said a farmer who had \
walked for six hours with his wife and four children to reach a relief camp set up beside the \
district hospital. He said his wheat store and two buffaloes had been washed away.

The meteorological department forecast more rain for the rest of the week and warned that the \
river could breach embankments downstream, where the land is flat and densely farmed. Engineers \
were working through the night to strengthen weak sections with sandbags and stones brought in by truck.

Aid agencies said the most urgent needs were clean drinking water, food and medicine, as cases of \
diarrhoea and skin infections had already been reported in crowded shelters. The government \
announced emergency funds for the affected districts and asked the army to help with evacuations.

Scientists have warned that monsoon rains in the region are becoming heavier and less predictable, \
and that poorly planned building on flood plains is putting more people in the path of rising \
rivers each year. Local officials said a full assessment of the damage to crops and roads would \
take several weeks once the water receded."""


def republished(story: str, header: str, footer: str, edits: dict[str, str]) -> str:
    """The story as an outlet runs it: its own header and footer lines, a few words changed."""
    for old, new in edits.items():
        story = story.replace(old, new)
    return f"{header}\n\n{story}\n\n{footer}"


WIRE_AT_A = republished(
    WIRE_STORY,
    "LAHORE: (AFP)",
    "Follow us on social media for the latest updates.",
    {"14 people": "fourteen people"},
)
WIRE_AT_B = republished(
    WIRE_STORY,
    "New Delhi, Aug 4 (Reuters) -",
    "Also read: Monsoon updates",
    {"mosques": "temples"},
)
