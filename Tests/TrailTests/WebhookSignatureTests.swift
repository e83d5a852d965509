import Foundation
import Testing
@testable import Trail

@Suite struct WebhookSignatureTests {
    let signer = WebhookSignature(secret: Array("s3cret".utf8))
    let body = Array(#"[{"id":"a"}]"#.utf8)

    /// Reference value from `printf '1790000000.[{"id":"a"}]' | openssl dgst -sha256 -hmac s3cret`.
    @Test func headerMatchesAnIndependentHMAC() {
        #expect(signer.header(timestamp: 1_790_000_000, body: body)
                == "t=1790000000,v1=2e75a56199f3c2581a173e0ced637319371545c77b21924f3639d13af44b3001")
    }

    @Test func verifiesItsOwnHeaderWithinTheTolerance() throws {
        let header = signer.header(timestamp: 1_790_000_000, body: body)
        try signer.verify(header: header, body: body, now: 1_790_000_000)
        try signer.verify(header: header, body: body, now: 1_790_000_300)
        try signer.verify(header: header, body: body, now: 1_789_999_700)
        #expect(throws: WebhookSignature.VerificationError.stale) {
            try signer.verify(header: header, body: body, now: 1_790_000_301)
        }
    }

    @Test func refusesAnyChangeOfBodyTimestampOrSecret() {
        let header = signer.header(timestamp: 1_790_000_000, body: body)
        #expect(throws: WebhookSignature.VerificationError.mismatch) {
            try signer.verify(header: header, body: Array(#"[{"id":"b"}]"#.utf8), now: 1_790_000_000)
        }
        let shifted = header.replacingOccurrences(of: "t=1790000000", with: "t=1790000001")
        #expect(throws: WebhookSignature.VerificationError.mismatch) {
            try signer.verify(header: shifted, body: body, now: 1_790_000_000)
        }
        #expect(throws: WebhookSignature.VerificationError.mismatch) {
            try WebhookSignature(secret: Array("other".utf8)).verify(header: header, body: body, now: 1_790_000_000)
        }
    }

    @Test func acceptsWhenAnyV1MatchesAndIgnoresOtherSchemes() throws {
        let digest = signer.digest(timestamp: 1_790_000_000, body: body)
        try signer.verify(header: "t=1790000000, v0=abc, v1=\(String(repeating: "0", count: 64)), v1=\(digest)",
                          body: body, now: 1_790_000_000)
    }

    @Test func malformedHeaders() {
        let digest = signer.digest(timestamp: 1_790_000_000, body: body)
        for header in ["", "v1=\(digest)", "t=1790000000", "t=abc,v1=\(digest)", "t=,v1=\(digest)",
                       "t=1790000000,v1", "t=1,t=1790000000,v1=\(digest)", "t=-5,v1=\(digest)"] {
            #expect(throws: WebhookSignature.VerificationError.malformed, "\(header)") {
                try signer.verify(header: header, body: body, now: 1_790_000_000)
            }
        }
    }
}
