import CXModel
import Foundation
import SwiftProtobuf

/// A column of a CSV file that an import reads: one of a fixed set, or
/// `attributes.<key>`. `profiles import` and `journey import` read their
/// header rows the same way (`columns(header:file:)`).
protocol CSVHeaderColumn: Hashable {
    /// Every column but the attributes, in file order.
    static var fixed: [Self] { get }
    /// The column `attributes.<key>`.
    static func attribute(_ key: String) -> Self
    /// What is wrong with `key` as an attribute key, for the error message
    /// after the header cell; nil when it is one.
    static func attributeKeyProblem(_ key: String) -> String?
    /// The name a header row gives the column.
    var header: String { get }
}

extension CSVHeaderColumn {
    /// For error messages: the names a header may use.
    static var knownNames: String { fixed.map(\.header).joined(separator: ", ") + ", attributes.<key>" }

    /// The columns a header row names. Unknown or repeated columns and bad
    /// attribute keys are reported (exit 64) before anything is sent.
    static func columns(header: CSVRecord, file: String) throws -> [Self] {
        var columns: [Self] = []
        for (index, cell) in header.fields.enumerated() {
            let name = cell.trimmingCharacters(in: .whitespaces)
            let column: Self
            if name.hasPrefix("attributes.") {
                let key = String(name.dropFirst("attributes.".count))
                if let problem = attributeKeyProblem(key) {
                    throw badInput("\(file): column \(index + 1) of the header (line \(header.line)), \"\(cell)\": \(problem)")
                }
                column = attribute(key)
            } else if let known = fixed.first(where: { $0.header == name.lowercased() }) {
                column = known
            } else {
                throw badInput(
                    "\(file): unknown column \"\(cell)\" (column \(index + 1) of the header, line \(header.line)); "
                        + "the columns are \(knownNames). Nothing was imported.")
            }
            guard !columns.contains(column) else {
                throw badInput("\(file): column \"\(column.header)\" appears twice in the header (line \(header.line))")
            }
            columns.append(column)
        }
        return columns
    }
}

/// The room one item of an import takes: its bytes as a message, and in a
/// request with its field's framing (`sent`).
struct ImportItemSize {
    /// What one request may hold, with room for the envelope under the
    /// 4 MiB message limit.
    static let requestBudget = 3 << 20

    let message: Int
    var sent: Int { message + 8 }

    init(of item: some SwiftProtobuf.Message) throws {
        message = (try item.serializedBytes() as [UInt8]).count
    }

    /// Whether a request could carry the item, even alone.
    var fits: Bool { sent <= Self.requestBudget }
}

/// The items an import has read and not sent yet, each with the line of the
/// file it came from: at most `limit` of them, and no more bytes than one
/// request may carry.
struct ImportBatch<Item: SwiftProtobuf.Message> {
    let limit: Int
    private(set) var items: [Item] = []
    private(set) var lines: [Int] = []
    private var bytes = 0

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    /// Whether the batch must be sent before an item of `size` joins it.
    func isFull(adding size: ImportItemSize) -> Bool {
        items.count >= limit || bytes + size.sent > ImportItemSize.requestBudget
    }

    mutating func append(_ item: Item, line: Int, size: ImportItemSize) {
        items.append(item)
        lines.append(line)
        bytes += size.sent
    }

    /// Empties the batch once it is sent.
    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        bytes = 0
    }
}
