/// The fingerprint scripts/generate-proto.sh records in
/// ``CXMethods/protoSpecFingerprint``: FNV-1a 64 over each .proto's path
/// (relative to proto-spec/), a NUL, its bytes and a NUL, in path order.
/// Tests recompute it from proto-spec/ to catch a .proto edited without
/// regenerating.
public enum ProtoSpecFingerprint {
    public static func compute(files: [(path: String, contents: [UInt8])]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for file in files.sorted(by: { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }) {
            file.path.utf8.forEach(mix)
            mix(0)
            file.contents.forEach(mix)
            mix(0)
        }
        return hash
    }
}
