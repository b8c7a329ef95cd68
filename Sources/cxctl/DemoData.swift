import CXModel
import CXSampleData
import Foundation

/// The words `cxctl demo` makes its business from: Narenj Coffee (قهوه نارنج),
/// a specialty-coffee roaster with cafés and an online shop, accounting in
/// rials. Names, places, products and what customers say, in Persian and
/// English. Nothing here is random: `DemoRandom` picks from it.
enum DemoData {
    typealias Name = SampleNames.Name
    static let persianWomen = SampleNames.persianWomen
    static let persianMen = SampleNames.persianMen
    static let persianFamilies = SampleNames.persianFamilies
    static let englishWomen = SampleNames.englishWomen
    static let englishMen = SampleNames.englishMen
    static let englishFamilies = SampleNames.englishFamilies

    /// Domains reserved for examples (RFC 2606): no real mailbox is named.
    static let emailDomains = ["example.com", "example.org", "example.net"]

    /// A place a customer lives: city and region as written there, the
    /// country, how a phone number there starts, and how many digits follow.
    struct Place: Sendable {
        var city: String
        var region: String
        var country: String
        var phonePrefixes: [String]
        var phoneDigits: Int
        /// Share of the customers of its language who live here, in percent.
        var weight: Int
    }

    static let iranMobile = ["+98912", "+98919", "+98935", "+98936", "+98901", "+98902", "+98910", "+98938"]

    static let persianPlaces: [Place] = [
        Place(city: "تهران", region: "تهران", country: "IR", phonePrefixes: iranMobile, phoneDigits: 7, weight: 42),
        Place(city: "اصفهان", region: "اصفهان", country: "IR", phonePrefixes: iranMobile + ["+98913"], phoneDigits: 7, weight: 13),
        Place(city: "شیراز", region: "فارس", country: "IR", phonePrefixes: iranMobile + ["+98917"], phoneDigits: 7, weight: 12),
        Place(city: "مشهد", region: "خراسان رضوی", country: "IR", phonePrefixes: iranMobile + ["+98915"], phoneDigits: 7, weight: 11),
        Place(city: "تبریز", region: "آذربایجان شرقی", country: "IR", phonePrefixes: iranMobile + ["+98914"], phoneDigits: 7, weight: 9),
        Place(city: "کرج", region: "البرز", country: "IR", phonePrefixes: iranMobile, phoneDigits: 7, weight: 8),
        Place(city: "رشت", region: "گیلان", country: "IR", phonePrefixes: iranMobile + ["+98911"], phoneDigits: 7, weight: 5),
    ]
    /// English speakers: some live in Iran, the rest order from abroad.
    /// Numbers abroad are in the ranges kept for fiction (Ofcom's 07700 900xxx,
    /// North America's 555-01xx).
    static let englishPlaces: [Place] = [
        Place(city: "Tehran", region: "Tehran", country: "IR", phonePrefixes: iranMobile, phoneDigits: 7, weight: 35),
        Place(city: "Kish", region: "Hormozgan", country: "IR", phonePrefixes: iranMobile, phoneDigits: 7, weight: 5),
        Place(city: "London", region: "England", country: "GB", phonePrefixes: ["+447700900"], phoneDigits: 3, weight: 20),
        Place(city: "Manchester", region: "England", country: "GB", phonePrefixes: ["+447700900"], phoneDigits: 3, weight: 8),
        Place(city: "Toronto", region: "Ontario", country: "CA", phonePrefixes: ["+141655501", "+164755501"], phoneDigits: 2, weight: 17),
        Place(city: "Vancouver", region: "British Columbia", country: "CA", phonePrefixes: ["+160455501"], phoneDigits: 2, weight: 8),
        Place(city: "New York", region: "NY", country: "US", phonePrefixes: ["+121255501", "+191755501"], phoneDigits: 2, weight: 7),
    ]

    static let persianOccupations = [
        "مهندس نرم‌افزار", "معلم", "پزشک", "دانشجو", "طراح گرافیک", "حسابدار", "کارمند بانک", "معمار", "پرستار", "مدیر فروش",
        "عکاس", "وکیل", "مترجم", "کارآفرین", "داروساز",
    ]
    static let englishOccupations = [
        "Software engineer", "Teacher", "Doctor", "Student", "Graphic designer", "Accountant", "Architect", "Nurse", "Sales manager",
        "Photographer", "Lawyer", "Translator", "Founder", "Pharmacist",
    ]
    static let educations = ["diploma", "associate", "bachelor", "bachelor", "bachelor", "master", "master", "doctorate"]

    /// Attribute values rules can test (`attributes.shopping == "online"`).
    static let shoppingHabits = ["online", "in-store", "both"]
    static let priceSensitivities = ["low", "medium", "medium", "high"]
    static let households = ["single", "couple", "family"]
    static let interestTags = ["espresso", "filter", "beans", "tea", "gifts", "brewing", "pastry", "cold-brew"]

    /// Free-text attributes in the customer's language.
    static let persianGoals = [
        "یادگیری دم‌آوری قهوه در خانه", "پیدا کردن قهوه‌ای با اسیدیته کمتر", "خرید هدیه برای همکاران", "کم کردن کافئین",
        "امتحان کردن دانه‌های تک‌خاستگاه", "یک جای آرام برای کار کردن",
    ]
    static let englishGoals = [
        "Learn to brew great coffee at home", "Find a low-acidity coffee", "Gifts for the team", "Cut down on caffeine",
        "Try single-origin beans", "A quiet place to work",
    ]
    static let persianNeeds = [
        "ارسال سریع به محل کار", "آسیاب متناسب با موکاپات", "بسته‌بندی کوچک‌تر", "مشاوره برای خرید دستگاه اسپرسو", "اینترنت خوب در کافه",
    ]
    static let englishNeeds = [
        "Fast delivery to the office", "A grind that suits a moka pot", "Smaller bags", "Advice on an espresso machine",
        "Good Wi-Fi in the café",
    ]

    /// What Narenj sells, with its price range in whole rials and how often
    /// it is bought (weight, in percent of orders).
    struct Product: Sendable {
        var id: String
        var minRials: Int64
        var maxRials: Int64
        var weight: Int
        /// Bought at the café counter rather than delivered.
        var inCafe: Bool
    }

    static let products: [Product] = [
        Product(id: "espresso-bar", minRials: 120_000, maxRials: 420_000, weight: 30, inCafe: true),
        Product(id: "coffee-beans", minRials: 450_000, maxRials: 1_200_000, weight: 30, inCafe: false),
        Product(id: "tea", minRials: 250_000, maxRials: 650_000, weight: 9, inCafe: false),
        Product(id: "gift-box", minRials: 1_500_000, maxRials: 3_200_000, weight: 10, inCafe: false),
        Product(id: "brewing-kit", minRials: 1_800_000, maxRials: 4_500_000, weight: 9, inCafe: false),
        Product(id: "barista-class", minRials: 2_500_000, maxRials: 4_000_000, weight: 5, inCafe: true),
        Product(id: "grinder", minRials: 6_000_000, maxRials: 12_000_000, weight: 5, inCafe: false),
        Product(id: "espresso-machine", minRials: 18_000_000, maxRials: 32_000_000, weight: 2, inCafe: false),
    ]

    /// Touchpoints the demo adds to journey's catalogue (the defaults, one
    /// per channel, are there already).
    static let touchpoints: [Cx_Journey_V1_Touchpoint] = [
        .with {
            $0.id = "instagram"
            $0.name = "اینستاگرام @narenj.coffee"
            $0.channel = .social
        },
        .with {
            $0.id = "barista-class"
            $0.name = "Barista class · کلاس باریستا"
            $0.channel = .event
            $0.stages = [.activation, .acclimation, .accomplishment, .acceptance, .advocacy]
        },
    ]

    // MARK: - What customers say

    static let persianPromoter = [
        "قهوه‌ها همیشه تازه و خوش‌عطرند", "باریستاها خیلی مهربان و حرفه‌ای هستند", "بسته‌بندی زیبا و ارسال سریع بود",
        "بهترین اسپرسوی شهر را دارید", "کلاس باریستا عالی بود، ممنون", "دانه‌های اتیوپی فوق‌العاده بود",
    ]
    static let persianPassive = [
        "خوب بود ولی قیمت‌ها کمی بالاست", "کیفیت خوب است، اما کافه گاهی خیلی شلوغ است", "ارسال کمی طول کشید",
        "تنوع دانه‌ها می‌تواند بیشتر باشد", "قهوه خوب بود ولی صندلی‌ها راحت نیست",
    ]
    static let persianDetractor = [
        "سفارشم دیر رسید و بسته پاره بود", "قهوه کهنه بود و طعم سوختگی داشت", "پشتیبانی تلفنی جواب نداد",
        "قیمت‌ها خیلی گران شده و کیفیت پایین آمده", "ارسال یک هفته طول کشید و کسی خبر نداد", "آسیاب اشتباه ارسال شد و پشتیبانی جواب نداد",
    ]
    static let englishPromoter = [
        "Always fresh beans and friendly baristas", "Best espresso in town", "Fast delivery and lovely packaging",
        "The barista class was fantastic", "The Ethiopian beans were amazing",
    ]
    static let englishPassive = [
        "Good coffee but a bit pricey", "Nice place, often too crowded", "Delivery took a little longer than promised",
        "Would like more decaf options",
    ]
    static let englishDetractor = [
        "My order arrived late and the bag was torn", "Beans tasted stale and burnt", "Nobody answered the support line",
        "Prices went up and quality went down", "Delivery took a week and nobody told me", "Wrong grinder delivered, support never replied",
    ]
    static let persianDelivery = [
        "پیک خیلی مؤدب بود", "به موقع رسید", "بسته سالم رسید", "کمی دیر رسید", "پیک آدرس را پیدا نکرد",
    ]
    static let englishDelivery = [
        "The courier was very polite", "Arrived right on time", "Everything arrived intact", "A little late", "The courier could not find the address",
    ]

    /// The options of the NPS survey's "what do you value most" question.
    static let valueOptions = ["Coffee quality", "Price", "Delivery", "Staff", "Atmosphere"]

    /// Complaints customers make themselves: category, severity, and the
    /// description in Persian and in English.
    struct ComplaintText: Sendable {
        var category: String
        var severity: Cx_Feedback_V1_Severity
        var touchpoint: String
        var persian: String
        var english: String
    }

    static let complaints: [ComplaintText] = [
        ComplaintText(
            category: "delivery", severity: .high, touchpoint: "logistics",
            persian: "سفارشم سه روز دیر رسید و دانه‌ها آسیاب نشده بودند", english: "My order came three days late and the beans were not ground"),
        ComplaintText(
            category: "billing", severity: .medium, touchpoint: "website",
            persian: "مبلغ سفارش دو بار از کارتم کم شده است", english: "I was charged twice for the same order"),
        ComplaintText(
            category: "product", severity: .high, touchpoint: "product",
            persian: "دستگاه اسپرسو بعد از یک هفته نشتی دارد", english: "The espresso machine started leaking after a week"),
        ComplaintText(
            category: "service", severity: .low, touchpoint: "store",
            persian: "در شعبه ونک نیم ساعت منتظر سفارشم ماندم", english: "I waited half an hour for my order at the Vanak café"),
        ComplaintText(
            category: "loyalty", severity: .medium, touchpoint: "app",
            persian: "امتیاز خرید قبلی‌ام در اپ ثبت نشده", english: "The points of my last purchase are missing in the app"),
        ComplaintText(
            category: "delivery", severity: .critical, touchpoint: "logistics",
            persian: "بسته به آدرس اشتباه تحویل داده شد", english: "The parcel was delivered to the wrong address"),
    ]

    /// Who works the complaints, and what they write.
    static let agents = ["sara.k", "reza.m", "niloofar.a"]
    static let persianReply = "سلام، از صبوری شما ممنونیم؛ موضوع را بررسی می‌کنیم و تا پایان روز خبر می‌دهیم."
    static let englishReply = "Hello, thank you for your patience; we are looking into it and will get back to you today."
    static let persianResolution = "مبلغ اضافه برگشت داده شد و امتیاز جبرانی به حساب شما اضافه شد."
    static let englishResolution = "We refunded the difference and added goodwill points to your account."
}
