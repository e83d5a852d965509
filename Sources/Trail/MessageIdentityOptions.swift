import ArgumentParser
import Foundation
import Rewrite

/// `--tracking-id` and `--issued-at`: fixed values make output reproducible (tests,
/// comparing two runs); by default a random ID and the current time, as the milter uses.
struct MessageIdentityOptions: ParsableArguments {
    @Option(help: "Tracking ID (32 hex digits); random by default.")
    var trackingID: String?

    @Option(help: "Issue time written into the links (unix seconds); now by default.")
    var issuedAt: UInt32?

    func resolvedTrackingID() throws -> TrackingID {
        guard let trackingID else { return TrackingID.random() }
        guard let parsed = TrackingID(hex: trackingID) else {
            throw ValidationError("--tracking-id must be 32 hexadecimal digits")
        }
        return parsed
    }

    var resolvedIssuedAt: UInt32 {
        issuedAt ?? UInt32(clamping: Int(Date().timeIntervalSince1970))
    }
}
