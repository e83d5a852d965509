import Rewrite

/// Every setting of MailTrail, with the defaults that work on one machine.
///
/// One file serves the three programs (`/etc/mailtrail/mailtrail.conf` by default); each
/// program reads the parameters it needs and ignores the others. `-o name=value` on any
/// command line overrides the file, as with Postfix. `Settings.parameters` is the single
/// list of parameters: parsing, `mailtrail config` and the README all come from it.
public struct Settings: Equatable, Sendable {
    public static let defaultPath = "/etc/mailtrail/mailtrail.conf"

    // Rewriting (milter and `mailtrail rewrite`).
    public var trackingBaseURL = "http://127.0.0.1:8080"
    public var keysFile = "/etc/mailtrail/keys"
    public var trackOpens = true
    public var trackClicks = true
    public var trackTextParts = true
    public var topPixel = false
    public var skipDKIMSigned = true
    public var senderTracking: [SenderRule] = []
    public var campaignHeaders = ["X-Campaign-ID", "X-Mailgun-Campaign-Id"]
    public var tagHeaders = ["X-Mailgun-Tag", "X-Tag"]
    public var recordSubject = true

    // Redis and the spool (all programs).
    public var redisHost = "127.0.0.1"
    public var redisPort = 6379
    public var redisPassword = ""
    public var redisDB = 0
    public var redisConnectTimeout = 0.2
    public var redisTimeout = 0.2
    public var redisKeyPrefix = "mt:"
    public var messageTTL = 10 * 86400.0
    public var eventsMaxLength = 1_000_000
    public var spoolDirectory = "/var/lib/mailtrail"

    // mailtrail-milter.
    public var milterSocket = MilterSocket.inet(host: "127.0.0.1", port: 8893)
    public var milterSocketMode = 0o660
    public var milterSocketGroup = ""
    public var milterPIDFile = ""
    public var milterMetricsListen: (host: String, port: Int)? = nil
    public var maxMessageSize = 50 << 20
    public var memoryBufferSize = 1 << 20
    public var milterTimeout = 60.0
    public var logDestination = "syslog"
    public var syslogFacility = "mail"

    // mailtrail-tracker.
    public var trackerListen = (host: "127.0.0.1", port: 8080)
    public var trustedProxies = ["127.0.0.1", "::1"]
    public var eventQueueSize = 65_536
    public var trackerIdleTimeout = 30.0
    public var linkLifetime = 0.0
    public var trackerThreads = 0
    /// The tracker writer's Redis I/O timeout (seconds); `redisTimeout` is the milter's, on the mail path.
    public var trackerRedisTimeout = 1.0
    public var trackerHeaderTimeout = 10.0
    public var trackerMaxURILength = 16 << 10
    public var trackerMaxHeaderSize = 16 << 10
    public var trackerPIDFile = ""

    // mailtrail feed.
    public var feedURL = ""
    public var feedSecretFile = ""
    public var feedBatchSize = 100
    public var feedBatchAge = 5.0
    public var feedMaxAttempts = 10
    public var feedTimeout = 30.0
    public var feedBackoffBase = 1.0
    public var feedBackoffCap = 60.0
    public var feedClaimIdle = 300.0
    public var feedFormat = "json"

    public init() {}

    public static func == (a: Settings, b: Settings) -> Bool {
        Settings.parameters.allSatisfy { $0.current(a) == $0.current(b) }
    }
}

extension Settings {
    /// Reads `path` (or the default path, silently skipped when absent) and applies
    /// `overrides` (`name=value` strings from `-o`).
    public static func load(path: String?, overrides: [String] = []) throws(ConfigError) -> Settings {
        let file = path ?? defaultPath
        var text = ""
        do {
            text = try TextFile.read(file)
        } catch {
            if path != nil || error.exists {
                let hint = error.permissionDenied ? " (this program runs as \(ServiceUser.name): let it read the file)" : ""
                throw ConfigError(source: file, message: "cannot read the configuration: \(error.reason)\(hint)")
            }
        }
        return try parse(text, source: file, overrides: overrides)
    }

    /// Parses configuration text; every unknown parameter or bad value is an error that
    /// names the file, the line and the parameter.
    public static func parse(_ text: String, source: String, overrides: [String] = []) throws(ConfigError) -> Settings {
        var entries = try ConfigFile.parse(text, source: source)
        for o in overrides { entries.append(try ConfigFile.parseOverride(o)) }
        var settings = Settings()
        for entry in entries {
            guard let parameter = parametersByName[entry.key] else {
                throw ConfigError(source: entry.source, line: entry.line, key: entry.key,
                                  message: "unknown parameter (see `mailtrail config --defaults`)")
            }
            do {
                try parameter.apply(&settings, entry.value)
            } catch {
                throw ConfigError(source: entry.source, line: entry.line, key: entry.key,
                                  message: (error as? ConfigValue.Invalid)?.message ?? "\(error)")
            }
        }
        return settings
    }

    /// The settings as `name = value` lines, like `postconf`: all of them, or only those
    /// that differ from the defaults.
    public func rendered(onlyChanged: Bool = false) -> String {
        let defaults = Settings()
        return Settings.parameters
            .filter { !onlyChanged || $0.current(self) != $0.current(defaults) }
            .map { "\($0.name) = \($0.current(self))" }
            .joined(separator: "\n")
    }

    static let parametersByName: [String: Parameter] =
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0) })
}
