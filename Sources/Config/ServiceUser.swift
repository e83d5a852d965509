import Foundation

/// The user this process runs as, for error messages that tell the operator whom a file or
/// directory must belong to (`chown mailtrail /etc/mailtrail/keys`).
public enum ServiceUser {
    /// The effective user's name, or its number when it has no passwd entry (both work with chown).
    public static var name: String {
        let uid = geteuid()
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "\(uid)" }
        return String(cString: name)
    }
}
