import Rewrite

/// The fixed configuration every target rewrites and signs with, so that a crash input
/// reproduces exactly (no clock, no randomness).
public enum FuzzFixtures {
    public static let trackingBase = "https://t.example.com"
    /// `trackingBase` plus "/": what every tracking URL starts with.
    public static let trackingPrefix: [UInt8] = Array((trackingBase + "/").utf8)
    public static let trackingID = TrackingID(hex: "00112233445566778899aabbccddeeff")!
    public static let issuedAt: UInt32 = 1_700_000_000

    /// Secrets of keys k1 (00 01 … 1f) and k2 (20 21 … 3f).
    public static let secrets: [UInt8: [UInt8]] = [1: Array(0...31), 2: Array(32...63)]

    /// The ring tokens are signed and verified with: k1 and k2, `active` signing.
    public static func ring(active: UInt8 = 2) -> KeyRing {
        try! KeyRing(keys: secrets, activeKeyID: active)
    }

    /// The same key ids with other secrets: must verify nothing `ring` signed.
    public static let foreignRing = try! KeyRing(keys: [1: Array(64...95), 2: Array(96...127)], activeKeyID: 2)
}
