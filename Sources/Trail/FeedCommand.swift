import ArgumentParser
import Config
import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `mailtrail feed`: the webhook exporter.
struct FeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Send tracking events to the webhook (feed_url) in signed, gzip-compressed batches.",
        discussion: """
            Reads mt:events through the consumer group mt:feed and acknowledges events only after a 2xx answer \
            (at-least-once: receivers de-duplicate on the event "id"). Failed requests are retried with \
            exponential backoff and jitter; after feed_max_attempts the batch goes to mt:events:dead, which \
            --replay-dead sends again. Run several feeders with different --consumer names to share the load.

            Each request carries X-MailTrail-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>, \
            where body is the uncompressed request body and secret the first line of feed_secret_file.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Consumer name in the group (default: the host name). Give each feeder its own; keep it across restarts.")
    var consumer: String?

    @Flag(help: "Send what is pending and new, then exit (instead of running until SIGTERM).")
    var once = false

    @Flag(help: "Send the dead-letter stream again, deleting each batch the webhook accepts, then exit.")
    var replayDead = false

    @Option(help: "Body format: json (an array of event objects) or sparkpost (SparkPost ingest NDJSON); default feed_format.")
    var format: FeedFormat?

    func validate() throws {
        if let consumer, consumer.isEmpty || consumer.contains(where: { $0.isWhitespace }) {
            throw ValidationError("--consumer must be a non-empty name without spaces")
        }
    }

    func run() throws {
        let settings = try options.settings()
        guard !settings.feedURL.isEmpty, let url = URL(string: settings.feedURL) else {
            throw CLIError("feed_url is not set: give the webhook URL (e.g. -o feed_url=https://hooks.example.com/mailtrail)", status: EX_CONFIG)
        }
        let secret = try Self.loadSecret(settings.feedSecretFile)
        let policy = try FeedPolicy(settings: settings, format: format)
        let name = consumer ?? Self.hostName()
        let log: (String) -> Void = { line in StandardIO.warn("mailtrail feed[\(name)]: \(line)") }
        if let mode = Self.sharedMode(settings.feedSecretFile) {
            log(String(format: "warning: %@ is accessible to group or others (mode %04o): chmod 600 it", settings.feedSecretFile, mode))
        }
        if policy.claimIdle <= policy.longestSilence {
            log("warning: feed_claim_idle (\(policy.claimIdle) s) should exceed feed_timeout + feed_backoff_cap + 1 s and feed_batch_age (\(policy.longestSilence) s), or feeders may take over each other's events")
        }
        var endpoint = settings.redisEndpoint
        // Reads block up to Feeder.longestBlock on top of the normal answer time.
        endpoint.ioTimeout += .milliseconds(Int64(Feeder.longestBlock * 1000) + 500)
        endpoint.connectTimeout = max(endpoint.connectTimeout, .seconds(1))
        let feeder = Feeder(connection: RedisConnection(endpoint: endpoint), schema: settings.keySchema, consumer: name,
                            url: url, signature: WebhookSignature(secret: secret), policy: policy,
                            transport: URLSessionTransport(), stop: StopSignal(), log: log)
        if replayDead {
            let (replayed, skipped) = try feeder.replayDeadLetters()
            log("replayed \(replayed) dead-letter event(s) in \(feeder.counters.requests) request(s)"
                + (skipped > 0 ? "; \(skipped) entr\(skipped == 1 ? "y is" : "ies are") not events and stay" : ""))
            return
        }
        log("feeding \(settings.keySchema.events) to \(Self.redacted(url)) (\(policy.format.rawValue), batches of \(policy.batchSize))")
        try feeder.run(once: once)
        let c = feeder.counters
        log("stopped: \(c.delivered) event(s) delivered in \(c.requests) request(s), \(c.deadLettered) dead-lettered")
    }

    /// The webhook secret: the first line of the file, without surrounding whitespace.
    static func loadSecret(_ path: String) throws -> [UInt8] {
        guard !path.isEmpty else {
            throw CLIError("feed_secret_file is not set: requests must be signed (e.g. head -c 32 /dev/urandom | base64 > /etc/mailtrail/feed-secret)", status: EX_CONFIG)
        }
        let text: String
        do {
            text = try TextFile.read(path)
        } catch {
            throw CLIError("\(path): cannot read the webhook secret: \(error.reason)", status: EX_CONFIG)
        }
        let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !line.isEmpty else { throw CLIError("\(path): the webhook secret is empty", status: EX_CONFIG) }
        return Array(line.utf8)
    }

    /// The file's permission bits when group or others may access it, else nil.
    static func sharedMode(_ path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return nil }
        return Int(status.st_mode & 0o7777)
    }

    /// The URL without credentials, query or fragment, for logs.
    static func redacted(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "the webhook" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "the webhook"
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "feed" }
        let name = String(cString: buffer)
        return name.isEmpty ? "feed" : name
    }
}
