/// Adler-32, the checksum that ends a zlib (RFC 1950) stream.
///
/// CompressNIO's inflate reports success for a stream cut short (it never
/// sees the end marker), so readers of zlib data compare the checksum of
/// what they inflated with the stream's last four bytes: a truncated or
/// damaged stream does not match.
public enum Adler32 {
    @inlinable
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        var pending = 0
        for byte in bytes {
            a &+= UInt32(byte)
            b &+= a
            pending += 1
            if pending == 5_552 {  // the most bytes before the sums can overflow 32 bits
                a %= 65_521
                b %= 65_521
                pending = 0
            }
        }
        return ((b % 65_521) << 16) | (a % 65_521)
    }

    /// Whether `inflated` is what the zlib stream `stream` ends by promising.
    @inlinable
    public static func matchesTrailer(of stream: some Collection<UInt8>, inflated: some Sequence<UInt8>) -> Bool {
        guard stream.count >= 6 else { return false }  // 2-byte header + 4-byte trailer at least
        var trailer: UInt32 = 0
        for byte in stream.suffix(4) { trailer = trailer << 8 | UInt32(byte) }
        return trailer == checksum(inflated)
    }
}
