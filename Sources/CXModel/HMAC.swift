/// SHA-256 (FIPS 180-4), in plain Swift.
///
/// CX needs a hash for a handful of small things (signing page tokens), and pulling in a
/// crypto package for that would add a dependency and its build time to every service.
/// This is the textbook algorithm, checked against the FIPS 180-2 vectors; it is not meant
/// for hashing gigabytes fast.
public enum SHA256 {
    /// Bytes in a digest.
    public static let digestByteCount = 32
    /// Bytes in one block of input; HMAC pads keys to this.
    public static let blockByteCount = 64

    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Incremental hashing, so HMAC can hash a padded key and a message without
    /// concatenating them first.
    struct Hasher {
        private var state: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
            0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        private var block = [UInt8](repeating: 0, count: SHA256.blockByteCount)
        private var blockFill = 0
        private var totalBytes: UInt64 = 0
        private var schedule = [UInt32](repeating: 0, count: 64)

        mutating func update(_ bytes: some Sequence<UInt8>) {
            let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
                for byte in buffer { append(byte) }
            }
            if done == nil {
                for byte in bytes { append(byte) }
            }
        }

        private mutating func append(_ byte: UInt8) {
            block[blockFill] = byte
            blockFill += 1
            totalBytes &+= 1
            if blockFill == SHA256.blockByteCount {
                compressBlock()
                blockFill = 0
            }
        }

        /// The digest; the hasher is spent afterwards.
        mutating func finalize() -> [UInt8] {
            let bitLength = totalBytes &* 8  // the standard's length is modulo 2^64 bits
            append(0x80)
            while blockFill != 56 { append(0) }
            for shift in stride(from: 56, through: 0, by: -8) {
                append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
            }
            var digest: [UInt8] = []
            digest.reserveCapacity(SHA256.digestByteCount)
            for word in state {
                digest.append(UInt8(truncatingIfNeeded: word >> 24))
                digest.append(UInt8(truncatingIfNeeded: word >> 16))
                digest.append(UInt8(truncatingIfNeeded: word >> 8))
                digest.append(UInt8(truncatingIfNeeded: word))
            }
            return digest
        }

        private mutating func compressBlock() {
            for t in 0..<16 {
                schedule[t] =
                    UInt32(block[4 * t]) << 24 | UInt32(block[4 * t + 1]) << 16
                    | UInt32(block[4 * t + 2]) << 8 | UInt32(block[4 * t + 3])
            }
            for t in 16..<64 {
                let w15 = schedule[t - 15]
                let w2 = schedule[t - 2]
                let s0 = rotateRight(w15, 7) ^ rotateRight(w15, 18) ^ (w15 >> 3)
                let s1 = rotateRight(w2, 17) ^ rotateRight(w2, 19) ^ (w2 >> 10)
                schedule[t] = schedule[t - 16] &+ s0 &+ schedule[t - 7] &+ s1
            }
            var a = state[0]
            var b = state[1]
            var c = state[2]
            var d = state[3]
            var e = state[4]
            var f = state[5]
            var g = state[6]
            var h = state[7]
            for t in 0..<64 {
                let sum1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
                let choice = (e & f) ^ (~e & g)
                let temp1 = h &+ sum1 &+ choice &+ SHA256.roundConstants[t] &+ schedule[t]
                let sum0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let temp2 = sum0 &+ majority
                h = g
                g = f
                f = e
                e = d &+ temp1
                d = c
                c = b
                b = a
                a = temp1 &+ temp2
            }
            state[0] &+= a
            state[1] &+= b
            state[2] &+= c
            state[3] &+= d
            state[4] &+= e
            state[5] &+= f
            state[6] &+= g
            state[7] &+= h
        }

        @inline(__always)
        private func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 {
            (x >> n) | (x << (32 - n))
        }
    }

    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
}

/// HMAC-SHA256 (RFC 2104), checked against the RFC 4231 vectors.
///
/// Used to make server-issued opaque values (page tokens) tamper-evident: a client can hold
/// them and hand them back, but cannot forge or alter one without the server's secret.
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`. Keys longer than a SHA-256
    /// block (64 bytes) are hashed first and shorter ones padded with zeros, as RFC 2104 says
    /// (so a short key and the same key with zero bytes appended are the same key; a secret of
    /// 32 random bytes, the right size, never meets that).
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        var paddedKey = key.count > SHA256.blockByteCount ? SHA256.hash(key) : key
        paddedKey.append(contentsOf: repeatElement(0, count: SHA256.blockByteCount - paddedKey.count))

        var inner = SHA256.Hasher()
        inner.update(paddedKey.lazy.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()

        var outer = SHA256.Hasher()
        outer.update(paddedKey.lazy.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// Whether `code` is the full 32-byte code of `message` under `key`, compared in time that
    /// does not depend on where the first wrong byte is (so an attacker cannot find a valid
    /// code byte by byte by timing answers). A truncated code is not valid here: accepting any
    /// prefix would accept the empty one. Callers that truncate compare with
    /// `constantTimeEqual` themselves.
    public static func isValid(_ code: [UInt8], for message: [UInt8], key: [UInt8]) -> Bool {
        constantTimeEqual(code, authenticationCode(for: message, key: key))
    }

    /// Byte-wise equality whose time depends only on the lengths, not on the contents.
    static func constantTimeEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }  // lengths are not secret
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}
