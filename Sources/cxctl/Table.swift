import CXModel

/// A plain-text table: a header row, then rows, columns padded to the
/// widest cell. Width is what a terminal shows (`CXText.displayWidth`):
/// a Persian letter with its diacritics or a zero-width non-joiner is one
/// column, a bidi mark none, a CJK character two, so Persian text lines up.
struct Table {
    var header: [String]
    var rows: [[String]] = []
    /// Columns at least this wide, by index (to line up several tables).
    var minimumWidths: [Int] = []

    init(_ header: String...) { self.header = header }

    mutating func append(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = (0..<columns).map { $0 < minimumWidths.count ? minimumWidths[$0] : 0 }
        let cellWidths = all.map { $0.map(CXText.displayWidth) }
        for row in cellWidths {
            for (index, width) in row.enumerated() { widths[index] = max(widths[index], width) }
        }
        return zip(all, cellWidths).map { row, rowWidths in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - rowWidths[index])
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
