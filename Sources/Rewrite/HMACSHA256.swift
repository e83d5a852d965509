import Crypto

/// HMAC-SHA256 (RFC 2104) with its key absorbed once: the SHA-256 states after the inner and
/// the outer padded key, copied for each message.
///
/// swift-crypto's `HMAC<SHA256>` computes the same codes, but it is generic over the hash
/// function and not specialised across the module boundary: verifying a tracking token through
/// it spent several times the hashing itself in the runtime's generic-metadata lookups (the
/// tracker verifies one token per request). This type calls only the concrete `SHA256`.
/// Tests check it against `HMAC<SHA256>`.
public struct HMACSHA256: @unchecked Sendable {
    // SHA256 is a copy-on-write value; these states are only ever copied before use, never
    // mutated in place, so sharing them across threads is safe.
    private let inner: SHA256
    private let outer: SHA256

    /// SHA-256's block: keys up to this long are padded, longer ones hashed first.
    private static let blockLength = 64

    public init(key: some Collection<UInt8>) {
        var block = [UInt8](repeating: 0, count: Self.blockLength)
        if key.count > Self.blockLength {
            SHA256.hash(data: Array(key)).withUnsafeBytes { digest in
                for (index, byte) in digest.enumerated() { block[index] = byte }
            }
        } else {
            for (index, byte) in key.enumerated() { block[index] = byte }
        }
        inner = Self.absorbing(block, xor: 0x36)
        outer = Self.absorbing(block, xor: 0x5c)
        for index in block.indices { block[index] = 0 }
    }

    private static func absorbing(_ block: [UInt8], xor pad: UInt8) -> SHA256 {
        var padded = block.map { $0 ^ pad }
        var hash = SHA256()
        padded.withUnsafeBytes { hash.update(bufferPointer: $0) }
        for index in padded.indices { padded[index] = 0 }
        return hash
    }

    /// Calls `body` with the 32-byte code of `message`.
    public func withCode<Result>(of message: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var innerHash = inner
        innerHash.update(bufferPointer: message)
        let innerDigest = innerHash.finalize()
        var outerHash = outer
        innerDigest.withUnsafeBytes { outerHash.update(bufferPointer: $0) }
        return outerHash.finalize().withUnsafeBytes(body)
    }

    /// The code of `message`.
    public func code(of message: UnsafeRawBufferPointer) -> [UInt8] {
        withCode(of: message) { Array($0) }
    }
}
