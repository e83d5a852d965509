import ArgumentParser
import Foundation
import Rewrite

/// `mailtrail link encode|decode`: make or inspect tracking links by hand.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Encode a tracking link, or decode one and check its signature.",
        subcommands: [Encode.self, Decode.self])

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the tracking link for a destination (or the pixel URL).")

        @OptionGroup var options: ConfigOptions

        @OptionGroup var identity: MessageIdentityOptions

        @Option(help: "Link index within the message.")
        var index: UInt32 = 0

        @Flag(help: "Print the open-pixel URL instead of a click link.")
        var pixel = false

        @Argument(help: "Destination URL (for click links).")
        var destination: String?

        func run() throws {
            let settings = try options.settings()
            let ring = try options.keyRing(settings)
            let links = TrackingLinks(base: settings.trackingBaseURL, keyRing: ring,
                                      trackingID: try identity.resolvedTrackingID(), issuedAt: identity.resolvedIssuedAt)
            if pixel {
                print(String(decoding: links.pixelURL(), as: UTF8.self))
                return
            }
            guard let destination, !destination.isEmpty else {
                throw ValidationError("give the destination URL, or --pixel")
            }
            print(String(decoding: links.clickURL(destination: Array(destination.utf8), linkIndex: index), as: UTF8.self))
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every field of a tracking link or token and whether its signature verifies.",
            discussion: "Exits 0 when the link verifies with a key of the key ring, 1 when it does not.")

        @OptionGroup var options: ConfigOptions

        @Flag(help: "Print one JSON object.")
        var json = false

        @Argument(help: "A tracking URL (…/c/<token>, …/o/<token>.gif) or a bare token.")
        var link: String

        func run() throws {
            let ring = try options.keyRing(options.settings())
            let token = TrackingLinks.token(fromPath: link)?.1 ?? Substring(link)
            let inspection = TrackingToken.inspect(token, keyRing: ring)
            print(json ? LinkReport.json(inspection) : LinkReport.text(inspection))
            if !inspection.isValid { throw ExitCode(1) }
        }
    }
}

/// How `link decode` shows a token.
enum LinkReport {
    static func fields(_ t: TokenInspection) -> [(String, Any)] {
        var f: [(String, Any)] = []
        if let v = t.version { f.append(("version", Int(v))) }
        if let k = t.keyID { f.append(("key", KeyRing.name(of: k))) }
        if let kind = t.kind { f.append(("kind", "\(kind)")) }
        if let d = t.isDeflated { f.append(("deflated", d)) }
        if let at = t.issuedAt {
            f.append(("issued_at", Int(at)))
        }
        if let id = t.trackingID { f.append(("tracking_id", id.hex)) }
        if let i = t.linkIndex { f.append(("link_index", Int(i))) }
        if let d = t.destination { f.append(("url", String(decoding: d, as: UTF8.self))) }
        switch t.verification {
        case .valid(let key): f.append(("signature", "valid (key \(key))"))
        case .invalid(let error): f.append(("signature", "invalid: \(error)"))
        }
        f.append(("valid", t.isValid))
        return f
    }

    static func text(_ t: TokenInspection) -> String {
        fields(t).filter { $0.0 != "valid" }.map { key, value in
            var shown = "\(value)"
            if key == "issued_at", let seconds = value as? Int {
                shown += " (\(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(seconds)))))"
            }
            return "\(key): \(shown)"
        }.joined(separator: "\n")
    }

    static func json(_ t: TokenInspection) -> String {
        let object = Dictionary(fields(t), uniquingKeysWith: { $1 })
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
