import CXModel
import CXSampleData
import Foundation

/// The customers, surveys and words cx-load loads the services with:
/// Persian and English, computed from `--seed` and an index alone, so every
/// run with the same seed finds the same customers.
enum SeedData {
    typealias Name = SampleNames.Name
    static let persianWomen = SampleNames.persianWomen
    static let persianMen = SampleNames.persianMen
    static let persianFamilies = SampleNames.persianFamilies
    static let englishWomen = SampleNames.englishWomen
    static let englishMen = SampleNames.englishMen
    static let englishFamilies = SampleNames.englishFamilies

    static let persianCities: [(city: String, region: String)] = [
        ("تهران", "تهران"), ("اصفهان", "اصفهان"), ("شیراز", "فارس"), ("مشهد", "خراسان رضوی"), ("تبریز", "آذربایجان شرقی"),
        ("کرج", "البرز"), ("رشت", "گیلان"), ("یزد", "یزد"),
    ]
    static let englishCities: [(city: String, region: String, country: String)] = [
        ("Tehran", "Tehran", "IR"), ("London", "England", "GB"), ("Manchester", "England", "GB"), ("Toronto", "Ontario", "CA"),
        ("Berlin", "Berlin", "DE"),
    ]
    static let goals = ["save", "travel", "family", "style", "health"]

    /// What search queries start with: the first letters of the names in use.
    static let searchPrefixes: [String] = {
        let names = persianWomen + persianMen + englishWomen + englishMen + persianFamilies + englishFamilies
        var prefixes = Set<String>()
        for name in names {
            prefixes.insert(String(name.text.prefix(2)))
            prefixes.insert(String(name.text.prefix(3)))
        }
        return prefixes.sorted()
    }()

    /// Seeded customer `index`: three in five Persian, the rest English.
    static func customer(_ run: RunIdentity, _ index: Int) -> Cx_Profiles_V1_Customer {
        var random = SplitMix64(loadSeed: UInt64(run.seed) &* 7_919 &+ UInt64(index))
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        let persian = random.next() % 5 < 3
        let female = random.next() % 2 == 0
        let first = persian ? pick(female ? persianWomen : persianMen) : pick(female ? englishWomen : englishMen)
        let family = persian ? pick(persianFamilies) : pick(englishFamilies)
        var customer = Cx_Profiles_V1_Customer()
        customer.id = run.customerID(index)
        customer.name = "\(first.text) \(family.text)"
        customer.email = "\(first.latin).\(family.latin).\(run.seed)-\(index)@example.com"
        customer.gender = female ? .female : .male
        customer.birthDate = .with {
            $0.year = Int32(1955 + random.next() % 50)
            $0.month = Int32(1 + random.next() % 12)
            $0.day = Int32(1 + random.next() % 28)
        }
        if persian {
            let place = pick(persianCities)
            customer.city = place.city
            customer.region = place.region
            customer.country = "IR"
            customer.phone = "+98912" + String(format: "%07d", (run.seed &* 100_003 &+ index) % 10_000_000)
            customer.preferredChannels = pick([[.sms], [.app, .sms], [.messenger], [.phone]])
        } else {
            let place = pick(englishCities)
            customer.city = place.city
            customer.region = place.region
            customer.country = place.country
            customer.phone = "+447700900" + String(format: "%03d", index % 1_000)
            customer.preferredChannels = pick([[.email], [.email, .app], [.web]])
        }
        customer.marketingConsent = .with {
            $0.given = random.next() % 3 != 0
            $0.method = "import"
        }
        customer.attributes["goal"] = pick(goals)
        return customer
    }

    /// A sign-up made during a run (upsert): a new customer with a run-unique id.
    static func signUp(id: String, _ caller: Caller) -> Cx_Profiles_V1_Customer {
        let persian = caller.chance(60)
        let female = caller.chance(50)
        let first = persian ? caller.pick(female ? persianWomen : persianMen) : caller.pick(female ? englishWomen : englishMen)
        let family = persian ? caller.pick(persianFamilies) : caller.pick(englishFamilies)
        var customer = Cx_Profiles_V1_Customer()
        customer.id = id
        customer.name = "\(first.text) \(family.text)"
        customer.email = "\(first.latin).\(family.latin).\(id)@example.org"
        customer.gender = female ? .female : .male
        customer.city = persian ? caller.pick(persianCities).city : caller.pick(englishCities).city
        customer.country = persian ? "IR" : "GB"
        customer.attributes["goal"] = caller.pick(goals)
        customer.attributes["source"] = "load"
        return customer
    }

    /// Segments the segment-count scenario counts (name suffix, rule).
    static let segments: [(name: String, rule: String)] = [
        ("Tehran", #"city == "تهران""#),
        ("savers over 30", #"attributes.goal == "save" and age >= 30"#),
        ("women in Iran", #"gender == "female" and country == "IR""#),
        ("consenting travellers", #"marketing_consent.given == true and attributes.goal == "travel""#),
    ]

    // MARK: Feedback

    struct SurveyPlan: Sendable {
        let id: String
        let touchpoint: String
        let stage: String
        let channel: Cx_Feedback_V1_Channel
    }

    /// The surveys of a seed: one per touchpoint below. `prefix` keeps the
    /// platform's (which earn loyalty's survey bonus) apart.
    static func surveys(_ run: RunIdentity, prefix: String = "") -> [SurveyPlan] {
        [
            SurveyPlan(id: "load-\(run.seed)-\(prefix)website", touchpoint: "website", stage: "admission", channel: .web),
            SurveyPlan(id: "load-\(run.seed)-\(prefix)store", touchpoint: "store", stage: "admission", channel: .inStore),
            SurveyPlan(id: "load-\(run.seed)-\(prefix)app", touchpoint: "app", stage: "activation", channel: .app),
        ]
    }

    static let reasons = ["قیمت", "کیفیت کالا", "ارسال", "برخورد پرسنل", "سایت و اپ", "سایر"]

    static func survey(_ plan: SurveyPlan, bonus: Bool) -> Cx_Feedback_V1_Survey {
        .with {
            $0.id = plan.id
            $0.name = "نظرسنجی \(plan.touchpoint) (load)"
            $0.touchpointID = plan.touchpoint
            $0.stage = plan.stage
            $0.recontactDays = 0
            $0.surveyBonus = bonus
            $0.questions = [
                .with {
                    $0.id = "nps"
                    $0.kind = .nps
                    $0.text = "چقدر احتمال دارد ما را به دوستان خود پیشنهاد کنید؟"
                    $0.required = true
                },
                .with {
                    $0.id = "csat"
                    $0.kind = .csat
                    $0.text = "How satisfied were you?"
                },
                .with {
                    $0.id = "ces"
                    $0.kind = .ces
                    $0.text = "انجام کارتان چقدر آسان بود؟"
                },
                .with {
                    $0.id = "reason"
                    $0.kind = .singleChoice
                    $0.text = "مهم‌ترین دلیل امتیاز شما چه بود؟"
                    $0.options = reasons
                },
                .with {
                    $0.id = "comment"
                    $0.kind = .text
                    $0.text = "Anything else? / چیز دیگری هست که بخواهید بگویید؟"
                },
            ]
        }
    }

    static let persianWords: [[String]] = [
        ["تاخیر", "خراب", "گران", "پشتیبانی", "جواب", "ندادند", "دیر", "مرجوعی", "شکسته", "بسته‌بندی", "معطل"],
        ["معمولی", "قیمت", "متوسط", "ارسال", "کیفیت", "قابل", "قبول", "بهتر"],
        ["عالی", "سریع", "خوب", "ممنون", "راضی", "کیفیت", "مناسب", "محترمانه", "به‌موقع"],
    ]
    static let englishWords: [[String]] = [
        ["late", "broken", "expensive", "rude", "refund", "waiting", "slow", "damaged", "never", "answered", "wrong"],
        ["okay", "fine", "average", "price", "delivery", "could", "better", "decent"],
        ["great", "fast", "friendly", "excellent", "thanks", "quality", "love", "helpful", "easy", "recommend"],
    ]

    /// A response as customers give them: half promoters, three in ten
    /// passives, the rest detractors (or only detractors), with CSAT, CES,
    /// a reason and sometimes words, Persian or English.
    static func response(
        _ survey: SurveyPlan, customer: String, key: String, detractor: Bool = false, random: inout SplitMix64
    ) -> (request: Cx_Feedback_V1_SubmitResponseRequest, category: Int) {
        let u = random.next() % 100
        let category = detractor ? 0 : u < 50 ? 2 : u < 80 ? 1 : 0  // promoter, passive, detractor
        let nps: Int32 =
            switch category {
            case 2: 9 + Int32(random.next() % 2)
            case 1: 7 + Int32(random.next() % 2)
            default: Int32(random.next() % 7)
            }
        var request = Cx_Feedback_V1_SubmitResponseRequest()
        request.surveyID = survey.id
        request.customerID = customer
        request.channel = survey.channel
        request.idempotencyKey = key
        request.answers.append(.with {
            $0.questionID = "nps"
            $0.score = nps
        })
        if random.next() % 100 < 85 {
            let csat: [Int32] = [[1, 2, 2, 3, 3], [3, 3, 4, 4, 4], [4, 4, 5, 5, 5]][category]
            request.answers.append(.with {
                $0.questionID = "csat"
                $0.score = csat[Int(random.next() % 5)]
            })
        }
        if random.next() % 100 < 70 {
            let ces: [Int32] = [[4, 5, 6, 7, 7], [2, 3, 4, 4, 5], [1, 1, 2, 2, 3]][category]
            request.answers.append(.with {
                $0.questionID = "ces"
                $0.score = ces[Int(random.next() % 5)]
            })
        }
        if random.next() % 100 < 60 {
            request.answers.append(.with {
                $0.questionID = "reason"
                $0.choices = [reasons[Int(random.next() % UInt64(reasons.count))]]
            })
        }
        if detractor || random.next() % 100 < 30 {
            let persian = random.next() % 100 < 60
            let vocabulary = (persian ? persianWords : englishWords)[category]
            let words = (0..<(4 + Int(random.next() % 8))).map { _ in vocabulary[Int(random.next() % UInt64(vocabulary.count))] }
            request.answers.append(.with {
                $0.questionID = "comment"
                $0.text = words.joined(separator: " ") + (persian ? "." : "!")
            })
        }
        return (request, category)
    }

    // MARK: Journey

    /// Event types as they arrive, by weight, each with a touchpoint it happens at.
    static let events: [(type: String, weight: Int, touchpoints: [String])] = [
        ("visit", 30, ["website", "app", "store", "social"]),
        ("inquiry", 10, ["phone", "email", "sms", "website"]),
        ("first_purchase", 8, ["website", "store", "app"]),
        ("purchase_confirmation", 8, ["email", "sms"]),
        ("delivery", 10, ["logistics", "packaging"]),
        ("first_use", 8, ["product", "app"]),
        ("onboarding_done", 6, ["app", "email"]),
        ("goal_reached", 5, ["product", "app"]),
        ("repeat_purchase", 8, ["website", "store", "app"]),
        ("review", 4, ["website", "social"]),
        ("referral", 3, ["social", "event"]),
    ]
    static let eventWeight = events.reduce(0) { $0 + $1.weight }
    static let products = ["laptop", "phone", "coffee-machine", "headphones", "camera"]

    /// A realistic event for `customer`, at a touchpoint that exists.
    static func event(customer: String, key: String, touchpoints: [String], random: inout SplitMix64) -> Cx_Journey_V1_Event {
        var roll = Int(random.next() % UInt64(eventWeight))
        var chosen = events[0]
        for event in events {
            if roll < event.weight {
                chosen = event
                break
            }
            roll -= event.weight
        }
        let usable = chosen.touchpoints.filter(touchpoints.contains)
        var event = Cx_Journey_V1_Event()
        event.customerID = customer
        event.type = chosen.type
        if !usable.isEmpty { event.touchpointID = usable[Int(random.next() % UInt64(usable.count))] }
        if chosen.type.hasSuffix("purchase") {
            event.attributes["product"] = products[Int(random.next() % UInt64(products.count))]
        }
        event.idempotencyKey = key
        return event
    }
}
