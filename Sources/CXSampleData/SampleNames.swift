/// Names CX's tools make customers from (`cxctl demo`, `cx-load`): Persian
/// names as written, with the Latin letters an email address uses, and
/// English ones. Plain data, no randomness: each tool picks from it with
/// its own seed.
public enum SampleNames {
    /// A name as written, and its Latin letters for an email address.
    public struct Name: Sendable, Hashable {
        public var text: String
        public var latin: String
        public init(_ text: String, _ latin: String) {
            self.text = text
            self.latin = latin
        }
    }

    public static let persianWomen: [Name] = [
        Name("مریم", "maryam"), Name("زهرا", "zahra"), Name("فاطمه", "fatemeh"), Name("سارا", "sara"), Name("نگار", "negar"),
        Name("مهسا", "mahsa"), Name("الهام", "elham"), Name("نازنین", "nazanin"), Name("شیرین", "shirin"), Name("لیلا", "leila"),
        Name("پریسا", "parisa"), Name("سمیرا", "samira"), Name("آزاده", "azadeh"), Name("نرگس", "narges"), Name("مینا", "mina"),
        Name("ترانه", "taraneh"), Name("یاسمن", "yasaman"), Name("هانیه", "hanieh"), Name("نیلوفر", "niloofar"), Name("ریحانه", "reyhaneh"),
    ]
    public static let persianMen: [Name] = [
        Name("علی", "ali"), Name("محمد", "mohammad"), Name("رضا", "reza"), Name("حسین", "hossein"), Name("امیر", "amir"),
        Name("مهدی", "mehdi"), Name("سعید", "saeed"), Name("حمید", "hamid"), Name("بهنام", "behnam"), Name("کاوه", "kaveh"),
        Name("آرش", "arash"), Name("پویا", "pouya"), Name("سینا", "sina"), Name("فرهاد", "farhad"), Name("کیوان", "keyvan"),
        Name("بابک", "babak"), Name("میلاد", "milad"), Name("امید", "omid"), Name("محمدرضا", "mohammadreza"), Name("علیرضا", "alireza"),
    ]
    public static let persianFamilies: [Name] = [
        Name("احمدی", "ahmadi"), Name("محمدی", "mohammadi"), Name("حسینی", "hosseini"), Name("رضایی", "rezaei"), Name("کریمی", "karimi"),
        Name("موسوی", "mousavi"), Name("جعفری", "jafari"), Name("صادقی", "sadeghi"), Name("رحیمی", "rahimi"), Name("کاظمی", "kazemi"),
        Name("نوری", "nouri"), Name("هاشمی", "hashemi"), Name("قاسمی", "ghasemi"), Name("عباسی", "abbasi"), Name("تهرانی", "tehrani"),
        Name("شریفی", "sharifi"), Name("اکبری", "akbari"), Name("یزدانی", "yazdani"), Name("فرهادی", "farhadi"), Name("نیک‌پور", "nikpour"),
        Name("زمانی", "zamani"), Name("باقری", "bagheri"), Name("طاهری", "taheri"), Name("مرادی", "moradi"), Name("شجاعی", "shojaei"),
    ]
    public static let englishWomen = [
        "Sara", "Emily", "Olivia", "Hannah", "Grace", "Chloe", "Sophie", "Laura", "Emma", "Lucy", "Rachel", "Anna", "Megan", "Julia",
    ].map { Name($0, $0.lowercased()) }
    public static let englishMen = [
        "James", "Daniel", "Thomas", "Michael", "David", "Oliver", "Jack", "Ryan", "Samuel", "Adam", "Ethan", "Lucas", "Henry", "Paul",
    ].map { Name($0, $0.lowercased()) }
    public static let englishFamilies = [
        "Johnson", "Smith", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Clarke", "Walker", "Wright", "Green", "Hughes",
        "Miller", "Harris", "Martin", "Cooper", "Turner", "Bennett",
    ].map { Name($0, $0.lowercased()) }
}
