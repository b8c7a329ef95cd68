import CXModel

/// The words of free-text answers, as the analysis counts them: normalised
/// by ``CXText`` (so ي/ی, ك/ک, the three kinds of digits and letter case all
/// meet), split into words, and without the stop words of Persian and
/// English, which say nothing about what went right or wrong.
enum FeedbackWords {
    static func words(_ text: String) -> [String] {
        CXText.searchTokens(text).filter { word in
            word.unicodeScalars.count >= 2 && !stopWords.contains(word) && !word.unicodeScalars.allSatisfy { $0.properties.numericType != nil }
        }
    }

    /// Normalised forms (the lists are written as people type them and
    /// normalised once, so a list entry with Arabic ي still matches).
    static let stopWords: Set<String> = {
        let english = """
            a about above after again against all am an and any are as at be because been before being below between both but by \
            can could did do does doing down during each few for from further had has have having he her here hers herself him \
            himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other \
            our ours ourselves out over own same she should so some such than that the their theirs them themselves then there \
            these they this those through to too under until up very was we were what when where which while who whom why will \
            with would you your yours yourself yourselves it's i'm don't didn't was wasn't isn't also get got
            """
        let persian = """
            و در به از که این را با است برای آن یک تا هم نیز بر شد شده می ها های هر اما یا بود باشد کرد کردم کرده کند کنم \
            من تو او ما شما آنها ایشان خود همه چه چون اگر پس نه هیچ دیگر بسیار خیلی همین آن‌ها این‌ها می‌شود می‌کنم هست \
            نیست بودم بودند شود کنید داشت دارم دارد داریم باید روی زیر بین پیش بعد قبل وقتی چرا کجا کی ولی یعنی فقط
            """
        var words: Set<String> = []
        for list in [english, persian] {
            for word in list.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                words.insert(CXText.normalize(String(word)))
            }
        }
        return words
    }()
}
