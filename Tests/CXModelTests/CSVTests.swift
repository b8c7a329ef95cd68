import Foundation
import XCTest

@testable import CXModel

final class CSVTests: XCTestCase {
    private func read(_ text: String, limits: CSVLimits = CSVLimits()) throws -> [CSVRecord] {
        try CSVReader.records(in: Array(text.utf8), limits: limits)
    }

    /// Reads `bytes` fed one byte at a time, the harshest chunking there is.
    private func readByteByByte(_ bytes: [UInt8], limits: CSVLimits = CSVLimits()) throws -> [CSVRecord] {
        var reader = CSVReader(limits: limits)
        var records: [CSVRecord] = []
        for byte in bytes { records += try reader.feed([byte]) }
        records += try reader.finish()
        return records
    }

    private func error(_ bytes: [UInt8], limits: CSVLimits = CSVLimits()) -> CSVError? {
        do {
            let records = try CSVReader.records(in: bytes, limits: limits)
            XCTFail("read \(records)")
            return nil
        } catch {
            return error
        }
    }

    private func error(_ text: String, limits: CSVLimits = CSVLimits()) -> CSVError? {
        error(Array(text.utf8), limits: limits)
    }

    // MARK: - Reading

    func testPlainRecords() throws {
        XCTAssertEqual(
            try read("name,city\nAli,Tehran\n"),
            [CSVRecord(line: 1, fields: ["name", "city"]), CSVRecord(line: 2, fields: ["Ali", "Tehran"])])
    }

    func testLastRecordNeedNotEndWithALineEnd() throws {
        XCTAssertEqual(try read("a,b\nc,d"), [.init(line: 1, fields: ["a", "b"]), .init(line: 2, fields: ["c", "d"])])
    }

    func testEmptyFields() throws {
        XCTAssertEqual(try read(",a,,\n"), [.init(line: 1, fields: ["", "a", "", ""])])
        XCTAssertEqual(try read("a,"), [.init(line: 1, fields: ["a", ""])])
        XCTAssertEqual(try read("\"\"\n"), [.init(line: 1, fields: [""])])
    }

    func testQuotedFieldsAndDoubledQuotes() throws {
        XCTAssertEqual(
            try read("\"a,b\",\"he said \"\"hi\"\"\",\"\"\"\"\n"),
            [.init(line: 1, fields: ["a,b", "he said \"hi\"", "\""])])
    }

    func testLineEndsInsideQuotesAreDataAndCountAsLines() throws {
        XCTAssertEqual(
            try read("\"line1\nline2\",x\n\"a\r\nb\",y\nnext\n"),
            [
                .init(line: 1, fields: ["line1\nline2", "x"]),
                .init(line: 3, fields: ["a\r\nb", "y"]),
                .init(line: 5, fields: ["next"]),
            ])
    }

    func testCRLFAndLoneCR() throws {
        XCTAssertEqual(
            try read("a,b\r\nc,d\r\n"), [.init(line: 1, fields: ["a", "b"]), .init(line: 2, fields: ["c", "d"])])
        XCTAssertEqual(try read("a\rb\rc"), [.init(line: 1, fields: ["a"]), .init(line: 2, fields: ["b"]), .init(line: 3, fields: ["c"])])
    }

    func testEmptyLinesAreSkippedButCounted() throws {
        XCTAssertEqual(
            try read("a\n\n\r\n\nb\n\n"), [.init(line: 1, fields: ["a"]), .init(line: 5, fields: ["b"])])
        XCTAssertEqual(try read(""), [])
        XCTAssertEqual(try read("\n\n"), [])
    }

    func testSpacesAreKept() throws {
        XCTAssertEqual(try read(" a , b \n"), [.init(line: 1, fields: [" a ", " b "])])
    }

    func testQuoteInsideUnquotedFieldIsACharacter() throws {
        XCTAssertEqual(try read("5\" screen,x\n"), [.init(line: 1, fields: ["5\" screen", "x"])])
    }

    func testByteOrderMarkAtTheStartIsSkipped() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("name\nعلی\n".utf8)
        let expected = [CSVRecord(line: 1, fields: ["name"]), CSVRecord(line: 2, fields: ["علی"])]
        XCTAssertEqual(try CSVReader.records(in: bytes), expected)
        XCTAssertEqual(try readByteByByte(bytes), expected)
        XCTAssertEqual(try CSVReader.records(in: [0xEF, 0xBB, 0xBF]), [])
        // Only at the start: a BOM later is part of the field.
        XCTAssertEqual(try read("a\n\u{FEFF}b\n"), [.init(line: 1, fields: ["a"]), .init(line: 2, fields: ["\u{FEFF}b"])])
        // A lone start of a BOM is not one (and here not UTF-8 either).
        XCTAssertEqual(error([0xEF, 0xBB]), .invalidUTF8(line: 1, field: 1))
    }

    func testPersianText() throws {
        let text = "نام,شهر,یادداشت\nعلی رضایی,تهران,\"می\u{200C}خواهم، لطفاً\"\nکریم,شیراز,۱۲۳\n"
        let expected: [CSVRecord] = [
            .init(line: 1, fields: ["نام", "شهر", "یادداشت"]),
            .init(line: 2, fields: ["علی رضایی", "تهران", "می\u{200C}خواهم، لطفاً"]),
            .init(line: 3, fields: ["کریم", "شیراز", "۱۲۳"]),
        ]
        XCTAssertEqual(try read(text), expected)
        XCTAssertEqual(try readByteByByte(Array(text.utf8)), expected)  // splits inside UTF-8 sequences
    }

    func testEveryChunkSplitGivesTheSameRecords() throws {
        let bytes = Array("\u{FEFF}id,note\r\n1,\"a \"\"quoted\"\"\r\nnote\"\r\n2,plain\n3,\"\"".utf8)
        let whole = try CSVReader.records(in: bytes)
        XCTAssertEqual(whole.map(\.line), [1, 2, 4, 5])
        for split in 0...bytes.count {
            var reader = CSVReader()
            var records = try reader.feed(bytes[..<split])
            records += try reader.feed(bytes[split...])
            records += try reader.finish()
            XCTAssertEqual(records, whole, "split at \(split)")
        }
    }

    func testReadsFromData() throws {
        XCTAssertEqual(try CSVReader.records(in: Data("a,b\n".utf8)), [.init(line: 1, fields: ["a", "b"])])
    }

    // MARK: - Errors

    func testInvalidUTF8NamesTheLine() {
        var bytes = Array("a,b\nc,d\ne,".utf8)
        bytes += [0xFF, 0x41]
        bytes += Array("\n".utf8)
        XCTAssertEqual(error(bytes), .invalidUTF8(line: 3, field: 2))
        // Inside a quoted field spanning lines, the line of the bad byte itself.
        XCTAssertEqual(error(Array("x\n\"ok\nstill ok\n".utf8) + [0xC3] + Array("\"\n".utf8)), .invalidUTF8(line: 4, field: 1))
    }

    func testUnterminatedQuoteNamesTheLineWhereTheFieldBegan() {
        XCTAssertEqual(error("a,b\nc,\"never closed\nmore\nand more\n"), .unterminatedQuote(line: 2))
        XCTAssertEqual(error("\""), .unterminatedQuote(line: 1))
    }

    func testTextAfterClosingQuote() {
        XCTAssertEqual(error("ok\nx,\"ab\"c\n"), .textAfterClosingQuote(line: 2, field: 2))
        XCTAssertEqual(error("\"ab\" \n"), .textAfterClosingQuote(line: 1, field: 1))
    }

    func testFieldSizeLimit() throws {
        let limits = CSVLimits(maxFieldBytes: 4, maxFieldsPerRecord: 256)
        XCTAssertEqual(try read("abcd,\"wxyz\"\n", limits: limits), [.init(line: 1, fields: ["abcd", "wxyz"])])
        XCTAssertEqual(error("ok\nabcd,abcde\n", limits: limits), .fieldTooLarge(line: 2, field: 2, limit: 4))
        XCTAssertEqual(error("\"abc\ndef\"", limits: limits), .fieldTooLarge(line: 1, field: 1, limit: 4))
        // Bytes, not characters: "علی" is 6 bytes.
        XCTAssertEqual(error("علی", limits: limits), .fieldTooLarge(line: 1, field: 1, limit: 4))
    }

    func testDefaultLimits() throws {
        let atLimit = String(repeating: "x", count: 65_536)
        XCTAssertEqual(try read(atLimit).first?.fields.first?.utf8.count, 65_536)
        XCTAssertEqual(error(atLimit + "x"), .fieldTooLarge(line: 1, field: 1, limit: 65_536))

        let manyFields = Array(repeating: "f", count: 256).joined(separator: ",")
        XCTAssertEqual(try read(manyFields).first?.fields.count, 256)
        XCTAssertEqual(error(manyFields + ",f"), .tooManyFields(line: 1, limit: 256))
    }

    func testFieldCountLimit() throws {
        let limits = CSVLimits(maxFieldBytes: 100, maxFieldsPerRecord: 3)
        XCTAssertEqual(try read("a,b,c\n", limits: limits), [.init(line: 1, fields: ["a", "b", "c"])])
        XCTAssertEqual(error("a\nb\na,b,c,\n", limits: limits), .tooManyFields(line: 3, limit: 3))
    }

    func testErrorsAreSticky() throws {
        var reader = CSVReader()
        XCTAssertThrowsError(try reader.feed(Array("\"ab\"c\n".utf8)))
        XCTAssertThrowsError(try reader.feed(Array("fine\n".utf8))) { error in
            XCTAssertEqual(error as? CSVError, .textAfterClosingQuote(line: 1, field: 1))
        }
        XCTAssertThrowsError(try reader.finish())
    }

    func testErrorDescriptionsNameLines() {
        XCTAssertEqual(
            CSVError.unterminatedQuote(line: 7).description, "line 7: a quoted field starts here and is never closed")
        XCTAssertTrue(CSVError.fieldTooLarge(line: 3, field: 2, limit: 10).description.contains("10 bytes"))
        XCTAssertTrue(CSVError.tooManyFields(line: 3, limit: 256).description.hasPrefix("line 3:"))
    }

    // MARK: - Writing

    func testWriterQuotesOnlyWhenNeeded() {
        XCTAssertEqual(CSVWriter.line(["a", "b c", "۱۲۳"]), "a,b c,۱۲۳\r\n")
        XCTAssertEqual(CSVWriter.line(["a,b"]), "\"a,b\"\r\n")
        XCTAssertEqual(CSVWriter.line(["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n")
        XCTAssertEqual(CSVWriter.line(["two\nlines", "cr\rhere"]), "\"two\nlines\",\"cr\rhere\"\r\n")
        XCTAssertEqual(CSVWriter.line(["crlf\r\nhere"]), "\"crlf\r\nhere\"\r\n")
        XCTAssertEqual(CSVWriter.line([" lead", "trail ", "\tx"]), "\" lead\",\"trail \",\"\tx\"\r\n")
        XCTAssertEqual(CSVWriter.line(["\u{FEFF}x"]), "\"\u{FEFF}x\"\r\n")
    }

    func testWriterEmptyFieldsAndRecords() {
        XCTAssertEqual(CSVWriter.line([""]), "\"\"\r\n")
        XCTAssertEqual(CSVWriter.line(["", ""]), ",\r\n")
        XCTAssertEqual(CSVWriter.line([]), "\r\n")
    }

    func testWriterLeavesFormulasAlone() {
        XCTAssertEqual(CSVWriter.line(["=SUM(A1:A2)", "+98 912", "-10% off", "@home"]), "=SUM(A1:A2),+98 912,-10% off,@home\r\n")
    }

    func testWriteThenReadRoundTrips() throws {
        let rows: [[String]] = [
            ["id", "name", "note"],
            ["1", "علی رضایی", "می\u{200C}خواهم، \"بهتر\"\nخط دوم"],
            ["2", " padded ", ""],
            [""],
            ["3", "\u{FEFF}bom", "=1+1", "a\r\nb", "\r", "\""],
        ]
        let text = rows.map(CSVWriter.line).joined()
        let records = try read("\u{FEFF}" + text)
        XCTAssertEqual(records.map(\.fields), rows)
        XCTAssertEqual(records.map(\.line), [1, 2, 4, 5, 6])
    }
}
