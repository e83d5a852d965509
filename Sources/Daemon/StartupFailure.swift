import Glibc

/// How a daemon that cannot start ends: one line on stderr (the terminal, or the journal under
/// systemd), the same line in syslog when the daemon logs there (so it sits in
/// `/var/log/mail.log` next to Postfix's lines), and the sysexits(3) status.
public enum StartupFailure {
    /// Writes `program: error: message` and exits with `status`. `syslogFacility`: the
    /// configured facility when `log_destination = syslog`, else nil.
    public static func exit(program: String, message: String, status: Int32, syslogFacility: String?) -> Never {
        _ = "\(program): error: \(message)\n".withCString { fputs($0, stderr) }
        if let syslogFacility {
            SyslogLogHandler.open(identifier: program, facility: syslogFacility)
            message.withCString { text in
                withVaList([text]) { vsyslog(LOG_ERR, "error: %s", $0) }
            }
        }
        Glibc.exit(status)
    }
}
