import Rewrite
@testable import TrackerCore

/// Keys, messages and links shared by the tracker tests.
enum TrackerFixtures {
    /// k1 = bytes 0...31, active.
    static let ring = try! KeyRing(keys: [1: Array(0...31)], activeKeyID: 1)
    /// A ring with another secret under the same key id: its tokens must not verify with `ring`.
    static let foreignRing = try! KeyRing(keys: [1: Array(100...131)], activeKeyID: 1)

    static let trackingID = TrackingID(hex: "00112233445566778899aabbccddeeff")!
    static let issuedAt: UInt32 = 1_700_000_000

    static func links(_ id: TrackingID = trackingID, ring: KeyRing = ring, issuedAt: UInt32 = issuedAt,
                      base: String = "http://t.test") -> TrackingLinks {
        TrackingLinks(base: base, keyRing: ring, trackingID: id, issuedAt: issuedAt)
    }

    /// The path (`/c/<token>`) of a click link to `destination`.
    static func clickPath(_ destination: String, index: UInt32 = 0, id: TrackingID = trackingID,
                          ring: KeyRing = ring, issuedAt: UInt32 = issuedAt) -> String {
        path(links(id, ring: ring, issuedAt: issuedAt).clickURL(destination: Array(destination.utf8), linkIndex: index))
    }

    static func clickPath(bytes destination: [UInt8], index: UInt32 = 0) -> String {
        path(links().clickURL(destination: destination, linkIndex: index))
    }

    /// The path (`/o/<token>.gif`) of the open pixel.
    static func pixelPath(id: TrackingID = trackingID, ring: KeyRing = ring) -> String {
        path(links(id, ring: ring).pixelURL())
    }

    static func unsubscribePath(_ destination: String, index: UInt32 = 0) -> String {
        path(links().unsubscribeURL(destination: Array(destination.utf8), linkIndex: index))
    }

    private static func path(_ url: [UInt8]) -> String {
        String(decoding: url.dropFirst("http://t.test".utf8.count), as: UTF8.self)
    }
}

/// SplitMix64: a small seeded generator so that randomized tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
