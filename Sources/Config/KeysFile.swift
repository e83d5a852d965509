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
            let fix: String
            if !error.exists {
                fix = "create it: mailtrail keygen > \(keysFile) && chmod 600 \(keysFile), or set keys_file"
            } else if error.permissionDenied {
                let user = ServiceUser.name
                fix = "this program runs as \(user): chown \(user) \(keysFile) && chmod 600 \(keysFile)"
            } else {
                fix = "keys_file must name the file mailtrail keygen wrote"
            }
            throw ConfigError(source: keysFile, message: "cannot read the keys file: \(error.reason) (\(fix))")
        }
        if requirePrivate, let problem = keysFileExposure() { throw problem }
        do {
            return try KeyRing.parse(text, source: keysFile)
        } catch {
            throw ConfigError(source: keysFile, line: error.line, message: error.message)
        }
    }

    /// The complaint about a `keys_file` that group or others may access, or nil when only its
    /// owner can. The daemons refuse to start with it; the CLI prints it as a warning.
    public func keysFileExposure() -> ConfigError? {
        var st = stat()
        guard stat(keysFile, &st) == 0, st.st_mode & 0o077 != 0 else { return nil }
        return ConfigError(source: keysFile, message: String(format:
            "keys file is accessible to group or others (mode %04o): run chmod 600 %@ and chown it to the service user",
            Int(st.st_mode & 0o7777), keysFile))
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
