import Glibc
import Logging

/// A swift-log handler that writes to syslog, the way mail administrators read
/// Postfix and opendkim: `mailtrail-milter[1234]: 4Xk2Lq0zZ1: tracked links=12`.
///
/// The `queue-id` metadata value, when present, leads the line (Postfix's convention, so
/// `grep QUEUEID /var/log/mail.log` finds MailTrail's lines beside Postfix's); other
/// metadata follows as `key=value`.
public struct SyslogLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info

    public init() {}

    /// Opens the syslog connection once per process, before any logging.
    public static func open(identifier: String, facility: String) {
        // openlog keeps the pointer: the identifier must outlive the process.
        let ident = strdup(identifier)
        openlog(ident, LOG_PID | LOG_NDELAY, facilityCode(facility))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = LogLine.format(event.message, metadata: metadata.merging(event.metadata ?? [:]) { $1 })
        line.withCString { text in
            withVaList([text]) { vsyslog(Self.priority(event.level), "%s", $0) }
        }
    }

    static func priority(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: return LOG_DEBUG
        case .info: return LOG_INFO
        case .notice: return LOG_NOTICE
        case .warning: return LOG_WARNING
        case .error: return LOG_ERR
        case .critical: return LOG_CRIT
        }
    }

    static func facilityCode(_ name: String) -> Int32 {
        switch name {
        case "daemon": return LOG_DAEMON
        case "user": return LOG_USER
        case "local0": return LOG_LOCAL0
        case "local1": return LOG_LOCAL1
        case "local2": return LOG_LOCAL2
        case "local3": return LOG_LOCAL3
        case "local4": return LOG_LOCAL4
        case "local5": return LOG_LOCAL5
        case "local6": return LOG_LOCAL6
        case "local7": return LOG_LOCAL7
        default: return LOG_MAIL
        }
    }
}

/// A swift-log handler for foreground runs and tests: the syslog line format on stderr,
/// prefixed with the program name and PID.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let program: String

    public init(program: String) { self.program = program }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = LogLine.format(event.message, metadata: metadata.merging(event.metadata ?? [:]) { $1 })
        let text = "\(program)[\(getpid())]: \(event.level): \(line)\n"
        _ = text.withCString { fputs($0, stderr) }
    }
}

/// The shared line format of both handlers.
enum LogLine {
    static func format(_ message: Logger.Message, metadata: Logger.Metadata) -> String {
        var line = ""
        if let queueID = metadata["queue-id"] { line = "\(queueID): " }
        line += message.description
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "queue-id" {
            line += " \(key)=\(value)"
        }
        return line
    }
}

/// Points swift-log at syslog or stderr, per the `log_destination` setting.
public enum LogSetup {
    public static func bootstrap(program: String, destination: String, facility: String, level: Logger.Level = .info) {
        if destination == "syslog" {
            SyslogLogHandler.open(identifier: program, facility: facility)
            LoggingSystem.bootstrap { _ in var h = SyslogLogHandler(); h.logLevel = level; return h }
        } else {
            LoggingSystem.bootstrap { _ in var h = StderrLogHandler(program: program); h.logLevel = level; return h }
        }
    }
}
