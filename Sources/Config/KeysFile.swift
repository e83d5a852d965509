import Foundation
import Rewrite

extension Settings {
    /// The signing keys named by `keys_file`.
    ///
    /// The daemons pass `requirePrivate`: a keys file that group or others can read lets
    /// anyone on the machine forge links, so they refuse to start and say how to fix it.
    public func loadKeyRing(requirePrivate: Bool) throws(ConfigError) -> KeyRing {
        let text: String
        do {
            text = try TextFile.read(keysFile)
        } catch {
            let hint = error.exists ? "" : " (create it with `mailtrail keygen > \(keysFile)` and chmod 600)"
            throw ConfigError(source: keysFile, message: "cannot read the keys file: \(error.reason)\(hint)")
        }
        if requirePrivate {
            var st = stat()
            if stat(keysFile, &st) == 0, st.st_mode & 0o077 != 0 {
                throw ConfigError(source: keysFile, message: String(format:
                    "keys file is accessible to group or others (mode %04o): run chmod 600 %@ and chown it to the service user",
                    Int(st.st_mode & 0o7777), keysFile))
            }
        }
        do {
            return try KeyRing.parse(text, source: keysFile)
        } catch {
            throw ConfigError(source: keysFile, line: error.line, message: error.message)
        }
    }

    /// The engine options this configuration gives.
    public func rewriterOptions(keyRing: KeyRing) -> MessageRewriter.Options {
        var mode: TrackingMode = []
        if trackOpens { mode.insert(.opens) }
        if trackClicks { mode.insert(.clicks) }
        return MessageRewriter.Options(
            trackingBase: trackingBaseURL, keyRing: keyRing,
            policy: TrackingPolicy(mode: mode, skipDKIMSigned: skipDKIMSigned, senderRules: senderTracking),
            trackTextParts: trackTextParts, topPixel: topPixel)
    }
}
