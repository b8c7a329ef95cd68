import ArgumentParser

/// `--key`: makes a write that may be retried apply once.
struct KeyOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Makes a retry of this command apply once and print the first answer: 1 to 128 characters.", valueName: "key"))
    var key: String?

    func validate() throws {
        if let key { try KeyOption.check(key) }
    }

    var value: String { key ?? "" }

    static func check(_ key: String) throws {
        guard (1...128).contains(key.count) else {
            throw ValidationError("--key: \"\(key)\" is \(key.count) characters; 1 to 128")
        }
    }
}
