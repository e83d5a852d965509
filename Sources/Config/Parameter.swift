import Rewrite

/// One configuration parameter: its name, default (as written in the file), a one-line
/// summary for `mailtrail config --defaults` and the README, and how it reads and shows.
public struct Parameter: Sendable {
    public var name: String
    public var defaultValue: String
    public var summary: String
    let apply: @Sendable (inout Settings, String) throws -> Void
    let current: @Sendable (Settings) -> String
}

private func yesNo(_ b: Bool) -> String { b ? "yes" : "no" }
private func seconds(_ s: Double) -> String {
    if s == 0 { return "0" }
    if s < 1 || s != s.rounded() { return "\(Int((s * 1000).rounded()))ms" }
    let n = Int(s)
    for (unit, scale) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] where n % scale == 0 {
        return "\(n / scale)\(unit)"
    }
    return "\(n)s"
}
private func bytes(_ n: Int) -> String {
    for (unit, shift) in [("G", 30), ("M", 20), ("k", 10)] where n != 0 && n % (1 << shift) == 0 {
        return "\(n >> shift)\(unit)"
    }
    return "\(n)"
}

extension Settings {
    /// Every parameter, in the order `mailtrail config` prints them.
    public static let parameters: [Parameter] = [
        // Rewriting.
        Parameter(name: "tracking_base_url", defaultValue: "http://127.0.0.1:8080",
                  summary: "Public base of tracking links (your tracking domain behind nginx, normally https).",
                  apply: { $0.trackingBaseURL = try ConfigValue.baseURL($1) }, current: { $0.trackingBaseURL }),
        Parameter(name: "keys_file", defaultValue: "/etc/mailtrail/keys",
                  summary: "Signing keys (`mailtrail keygen`); must be readable only by the service user.",
                  apply: { $0.keysFile = $1 }, current: { $0.keysFile }),
        Parameter(name: "track_opens", defaultValue: "yes",
                  summary: "Add the open pixel to HTML parts.",
                  apply: { $0.trackOpens = try ConfigValue.boolean($1) }, current: { yesNo($0.trackOpens) }),
        Parameter(name: "track_clicks", defaultValue: "yes",
                  summary: "Wrap http(s) links.",
                  apply: { $0.trackClicks = try ConfigValue.boolean($1) }, current: { yesNo($0.trackClicks) }),
        Parameter(name: "track_text_parts", defaultValue: "yes",
                  summary: "Also wrap URLs in text/plain parts.",
                  apply: { $0.trackTextParts = try ConfigValue.boolean($1) }, current: { yesNo($0.trackTextParts) }),
        Parameter(name: "top_pixel", defaultValue: "no",
                  summary: "Add a second pixel right after <body> (counts opens of clipped messages).",
                  apply: { $0.topPixel = try ConfigValue.boolean($1) }, current: { yesNo($0.topPixel) }),
        Parameter(name: "skip_dkim_signed", defaultValue: "yes",
                  summary: "Leave messages that already carry a DKIM-Signature untouched (rewriting would break it).",
                  apply: { $0.skipDKIMSigned = try ConfigValue.boolean($1) }, current: { yesNo($0.skipDKIMSigned) }),
        Parameter(name: "sender_tracking", defaultValue: "",
                  summary: "Per-sender rules: `pattern mode` pairs, comma-separated; pattern is user@domain, domain or .domain; mode off|opens|clicks|all.",
                  apply: { $0.senderTracking = try senderRules($1) },
                  current: { $0.senderTracking.map { "\($0.pattern) \($0.mode)" }.joined(separator: ", ") }),
        Parameter(name: "campaign_headers", defaultValue: "X-Campaign-ID, X-Mailgun-Campaign-Id",
                  summary: "Headers whose first present value becomes the event's campaign.",
                  apply: { $0.campaignHeaders = ConfigValue.list($1) }, current: { $0.campaignHeaders.joined(separator: ", ") }),
        Parameter(name: "tag_headers", defaultValue: "X-Mailgun-Tag, X-Tag",
                  summary: "Headers whose values (all occurrences) become the event's tags.",
                  apply: { $0.tagHeaders = ConfigValue.list($1) }, current: { $0.tagHeaders.joined(separator: ", ") }),
        Parameter(name: "record_subject", defaultValue: "yes",
                  summary: "Store the Subject in the enrichment record.",
                  apply: { $0.recordSubject = try ConfigValue.boolean($1) }, current: { yesNo($0.recordSubject) }),

        // Redis and the spool.
        Parameter(name: "redis_host", defaultValue: "127.0.0.1", summary: "Redis server address, or the path of its Unix socket (starting with `/`; `redis_port` is then unused).",
                  apply: { $0.redisHost = $1 }, current: { $0.redisHost }),
        Parameter(name: "redis_port", defaultValue: "6379", summary: "Redis server port.",
                  apply: { $0.redisPort = try ConfigValue.integer($1, in: 1...65535) }, current: { "\($0.redisPort)" }),
        Parameter(name: "redis_password", defaultValue: "", summary: "Redis AUTH password (empty: none).",
                  apply: { $0.redisPassword = $1 }, current: { $0.redisPassword }),
        Parameter(name: "redis_db", defaultValue: "0", summary: "Redis database number.",
                  apply: { $0.redisDB = try ConfigValue.integer($1, in: 0...1023) }, current: { "\($0.redisDB)" }),
        Parameter(name: "redis_connect_timeout", defaultValue: "200ms", summary: "Time allowed to connect to Redis.",
                  apply: { $0.redisConnectTimeout = try ConfigValue.duration($1) }, current: { seconds($0.redisConnectTimeout) }),
        Parameter(name: "redis_timeout", defaultValue: "200ms", summary: "Time allowed for one Redis round trip; past it, writes go to the spool.",
                  apply: { $0.redisTimeout = try ConfigValue.duration($1) }, current: { seconds($0.redisTimeout) }),
        Parameter(name: "redis_key_prefix", defaultValue: "mt:", summary: "Prefix of every Redis key.",
                  apply: { $0.redisKeyPrefix = $1 }, current: { $0.redisKeyPrefix }),
        Parameter(name: "message_ttl", defaultValue: "10d", summary: "How long enrichment records (mt:msg:<id>) live.",
                  apply: { $0.messageTTL = try ConfigValue.duration($1) }, current: { seconds($0.messageTTL) }),
        Parameter(name: "events_max_length", defaultValue: "1000000", summary: "Approximate cap of the mt:events stream (XTRIM MAXLEN ~ after each batch of events).",
                  apply: { $0.eventsMaxLength = try ConfigValue.integer($1, in: 1000...Int(Int32.max)) }, current: { "\($0.eventsMaxLength)" }),
        Parameter(name: "spool_directory", defaultValue: "/var/lib/mailtrail", summary: "Where writes wait while Redis is unreachable (each program in its own subdirectory); the systemd units create it (StateDirectory).",
                  apply: { $0.spoolDirectory = $1 }, current: { $0.spoolDirectory }),

        // mailtrail-milter.
        Parameter(name: "milter_socket", defaultValue: "inet:8893@127.0.0.1",
                  summary: "Milter listening socket: inet:PORT@HOST or unix:/PATH.",
                  apply: { $0.milterSocket = try MilterSocket(parsing: $1) }, current: { $0.milterSocket.libmilterSpec }),
        Parameter(name: "milter_socket_mode", defaultValue: "0660", summary: "Mode of a unix milter socket.",
                  apply: { $0.milterSocketMode = try ConfigValue.fileMode($1) }, current: { "0" + String($0.milterSocketMode, radix: 8) }),
        Parameter(name: "milter_socket_group", defaultValue: "", summary: "Group of a unix milter socket (e.g. postfix); empty: unchanged.",
                  apply: { $0.milterSocketGroup = $1 }, current: { $0.milterSocketGroup }),
        Parameter(name: "milter_pid_file", defaultValue: "", summary: "PID file written by mailtrail-milter (empty: none).",
                  apply: { $0.milterPIDFile = $1 }, current: { $0.milterPIDFile }),
        Parameter(name: "milter_metrics_listen", defaultValue: "",
                  summary: "Address of the milter's Prometheus endpoint (GET /metrics), e.g. 127.0.0.1:9893; keep it on loopback (empty: none).",
                  apply: { $0.milterMetricsListen = $1.isEmpty ? nil : try ConfigValue.hostPort($1) },
                  current: { $0.milterMetricsListen.map(ConfigValue.hostPortText) ?? "" }),
        Parameter(name: "max_message_size", defaultValue: "50M", summary: "Larger messages pass untouched.",
                  apply: { $0.maxMessageSize = try ConfigValue.size($1) }, current: { bytes($0.maxMessageSize) }),
        Parameter(name: "memory_buffer_size", defaultValue: "1M", summary: "Bodies beyond this are buffered in a temporary file.",
                  apply: { $0.memoryBufferSize = try ConfigValue.size($1) }, current: { bytes($0.memoryBufferSize) }),
        Parameter(name: "milter_timeout", defaultValue: "1m", summary: "libmilter's I/O timeout towards Postfix.",
                  apply: { $0.milterTimeout = try ConfigValue.duration($1) }, current: { seconds($0.milterTimeout) }),
        Parameter(name: "log_destination", defaultValue: "syslog", summary: "syslog or stderr.",
                  apply: { $0.logDestination = try oneOf($1, ["syslog", "stderr"]) }, current: { $0.logDestination }),
        Parameter(name: "syslog_facility", defaultValue: "mail", summary: "Syslog facility (mail, daemon, local0..local7).",
                  apply: { $0.syslogFacility = try oneOf($1, ["mail", "daemon", "user"] + (0...7).map { "local\($0)" }) },
                  current: { $0.syslogFacility }),

        // mailtrail-tracker.
        Parameter(name: "tracker_listen", defaultValue: "127.0.0.1:8080", summary: "Address the tracker listens on (nginx proxies to it).",
                  apply: { let hp = try ConfigValue.hostPort($1); $0.trackerListen = hp },
                  current: { ConfigValue.hostPortText($0.trackerListen) }),
        Parameter(name: "trusted_proxies", defaultValue: "127.0.0.1, ::1",
                  summary: "Peers (addresses or CIDR blocks) whose X-Real-IP / X-Forwarded-For is believed.",
                  apply: { $0.trustedProxies = try ConfigValue.list($1).map { try NetworkRange(parsing: $0).description } },
                  current: { $0.trustedProxies.joined(separator: ", ") }),
        Parameter(name: "tracker_redis_timeout", defaultValue: "1s", summary: "Time the tracker's event writer allows one Redis round trip before it spools events; requests never wait for it, so it may exceed redis_timeout.",
                  apply: { $0.trackerRedisTimeout = try ConfigValue.duration($1) }, current: { seconds($0.trackerRedisTimeout) }),
        Parameter(name: "event_queue_size", defaultValue: "65536", summary: "Events held in memory before they spill to the spool (as many again while the writer finishes a slow Redis round trip).",
                  apply: { $0.eventQueueSize = try ConfigValue.integer($1, in: 16...10_000_000) }, current: { "\($0.eventQueueSize)" }),
        Parameter(name: "tracker_idle_timeout", defaultValue: "30s", summary: "Idle keep-alive connections are closed after this.",
                  apply: { $0.trackerIdleTimeout = try ConfigValue.duration($1) }, current: { seconds($0.trackerIdleTimeout) }),
        Parameter(name: "link_lifetime", defaultValue: "0", summary: "Clicks on links older than this get 404 (0: links never expire).",
                  apply: { $0.linkLifetime = try ConfigValue.duration($1, defaultUnit: "d") }, current: { seconds($0.linkLifetime) }),
        Parameter(name: "tracker_threads", defaultValue: "0", summary: "Event-loop threads of the tracker (0: one per CPU core).",
                  apply: { $0.trackerThreads = try ConfigValue.integer($1, in: 0...256) }, current: { "\($0.trackerThreads)" }),
        Parameter(name: "tracker_header_timeout", defaultValue: "10s", summary: "Time a client has to send a complete request head (slow clients get 408).",
                  apply: { $0.trackerHeaderTimeout = try positiveDuration($1) }, current: { seconds($0.trackerHeaderTimeout) }),
        Parameter(name: "tracker_max_uri_length", defaultValue: "16k", summary: "Longest request line the tracker reads (longer: 414).",
                  apply: { $0.trackerMaxURILength = try sizeAtLeast($1, 256) }, current: { bytes($0.trackerMaxURILength) }),
        Parameter(name: "tracker_max_header_size", defaultValue: "16k", summary: "Largest header block after the request line (larger: 431).",
                  apply: { $0.trackerMaxHeaderSize = try sizeAtLeast($1, 256) }, current: { bytes($0.trackerMaxHeaderSize) }),
        Parameter(name: "tracker_pid_file", defaultValue: "", summary: "PID file written by mailtrail-tracker (empty: none).",
                  apply: { $0.trackerPIDFile = $1 }, current: { $0.trackerPIDFile }),

        // mailtrail feed.
        Parameter(name: "feed_url", defaultValue: "", summary: "Webhook URL that receives event batches.",
                  apply: { $0.feedURL = $1.isEmpty ? "" : try ConfigValue.baseURL($1) }, current: { $0.feedURL }),
        Parameter(name: "feed_secret_file", defaultValue: "", summary: "File holding the webhook signing secret.",
                  apply: { $0.feedSecretFile = $1 }, current: { $0.feedSecretFile }),
        Parameter(name: "feed_batch_size", defaultValue: "100", summary: "Events per webhook request at most.",
                  apply: { $0.feedBatchSize = try ConfigValue.integer($1, in: 1...10_000) }, current: { "\($0.feedBatchSize)" }),
        Parameter(name: "feed_batch_age", defaultValue: "5s", summary: "A partial batch is sent after this long.",
                  apply: { $0.feedBatchAge = try ConfigValue.duration($1) }, current: { seconds($0.feedBatchAge) }),
        Parameter(name: "feed_max_attempts", defaultValue: "10", summary: "Attempts before a batch goes to the dead-letter stream.",
                  apply: { $0.feedMaxAttempts = try ConfigValue.integer($1, in: 1...1000) }, current: { "\($0.feedMaxAttempts)" }),
        Parameter(name: "feed_timeout", defaultValue: "30s", summary: "Time limit for one webhook request (no answer by then counts as a failed attempt).",
                  apply: { $0.feedTimeout = try positiveDuration($1) }, current: { seconds($0.feedTimeout) }),
        Parameter(name: "feed_backoff_base", defaultValue: "1s", summary: "Retry delay bound after the first failure; it doubles after each failure (full jitter: a random wait up to the bound).",
                  apply: { $0.feedBackoffBase = try positiveDuration($1) }, current: { seconds($0.feedBackoffBase) }),
        Parameter(name: "feed_backoff_cap", defaultValue: "1m", summary: "Upper limit of the retry delay bound.",
                  apply: { $0.feedBackoffCap = try positiveDuration($1) }, current: { seconds($0.feedBackoffCap) }),
        Parameter(name: "feed_claim_idle", defaultValue: "5m", summary: "Events another feeder has held unacknowledged this long are taken over (that feeder is presumed dead).",
                  apply: { $0.feedClaimIdle = try positiveDuration($1) }, current: { seconds($0.feedClaimIdle) }),
        Parameter(name: "feed_format", defaultValue: "json", summary: "Webhook body: json (an array of event objects) or sparkpost (SparkPost ingest NDJSON).",
                  apply: { $0.feedFormat = try oneOf($1, ["json", "sparkpost"]) }, current: { $0.feedFormat }),
    ]
}

private func positiveDuration(_ text: String) throws -> Double {
    let value = try ConfigValue.duration(text)
    guard value > 0 else { throw ConfigValue.Invalid(message: "\"\(text)\" must be longer than 0") }
    return value
}

private func sizeAtLeast(_ text: String, _ minimum: Int) throws -> Int {
    let value = try ConfigValue.size(text)
    guard value >= minimum else { throw ConfigValue.Invalid(message: "\"\(text)\" is below the minimum of \(minimum) bytes") }
    return value
}

private func oneOf(_ text: String, _ allowed: [String]) throws -> String {
    guard allowed.contains(text) else {
        throw ConfigValue.Invalid(message: "\"\(text)\" is not one of \(allowed.joined(separator: ", "))")
    }
    return text
}

private func senderRules(_ text: String) throws -> [SenderRule] {
    try text.split(separator: ",").map { item in
        let words = item.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 2, let mode = TrackingMode(parsing: words[1]) else {
            throw ConfigValue.Invalid(message: "\"\(item.trimmingCharacters())\" is not `pattern mode` (e.g. example.org off)")
        }
        return SenderRule(pattern: String(words[0]), mode: mode)
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).trimmingTrailingSpace())
    }
}
