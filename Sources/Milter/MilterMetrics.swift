import Prometheus
import Rewrite

/// The milter's Prometheus metrics, served at `milter_metrics_listen` (`GET /metrics`):
///
/// | metric | type | meaning |
/// |---|---|---|
/// | `mailtrail_milter_messages_seen_total` | counter | messages whose end reached the filter |
/// | `mailtrail_milter_messages_tracked_total` | counter | messages that left with a tracking ID |
/// | `mailtrail_milter_messages_skipped_total{reason}` | counter | messages passed on untracked, by reason |
/// | `mailtrail_milter_enrichment_written_total` | counter | enrichment records written to Redis directly |
/// | `mailtrail_milter_enrichment_spooled_total` | counter | records put in the spool (Redis unavailable) |
/// | `mailtrail_milter_enrichment_replayed_total` | counter | spooled records later written to Redis |
/// | `mailtrail_milter_enrichment_lost_total` | counter | records neither written nor spooled (spool full or failing), or refused by Redis |
/// | `mailtrail_milter_spool_write_errors_total` | counter | failed spool appends (disk full, I/O errors) |
/// | `mailtrail_milter_redis_errors_total` | counter | failed Redis round trips and refused batches |
/// | `mailtrail_milter_redis_config_errors_total` | counter | Redis refusals caused by the configuration (`redis_password`, `redis_db`) |
/// | `mailtrail_milter_spool_bytes` | gauge | bytes waiting in the spool |
///
/// Every counter exists from the start (at 0).
final class MilterMetrics: Sendable {
    /// Why a message passed untracked, as the `reason` label says it.
    enum SkipLabel: String, CaseIterable, Sendable {
        case alreadyTracked = "already_tracked"
        case signedOrEncrypted = "signed_or_encrypted"
        case dkimSigned = "dkim_signed"
        case optedOut = "opted_out"
        case senderRule = "sender_rule"
        case trackingDisabled = "tracking_disabled"
        case nothingToTrack = "nothing_to_track"
        /// Larger than `max_message_size`.
        case tooLarge = "too_large"
        /// The body could not be buffered (temporary file) or read back.
        case bufferFailed = "buffer_failed"
        /// No turn to rewrite a large message in time.
        case busy = "busy"
        /// The MTA refused a change (connection lost).
        case modifyFailed = "modify_failed"

        init(_ reason: SkipReason) {
            switch reason {
            case .alreadyTracked: self = .alreadyTracked
            case .signedOrEncrypted: self = .signedOrEncrypted
            case .dkimSigned: self = .dkimSigned
            case .optedOutByHeader: self = .optedOut
            case .senderRule: self = .senderRule
            case .trackingDisabled: self = .trackingDisabled
            case .nothingToTrack: self = .nothingToTrack
            }
        }
    }

    let registry: PrometheusCollectorRegistry
    let messagesSeen: Counter
    let messagesTracked: Counter
    private let skipped: [SkipLabel: Counter]
    let enrichmentWritten: Counter
    let enrichmentSpooled: Counter
    let enrichmentReplayed: Counter
    let enrichmentLost: Counter
    let spoolWriteErrors: Counter
    let redisErrors: Counter
    let redisConfigErrors: Counter
    private let spoolBytes: Gauge

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "mailtrail", subsystem: "milter", metricName: name, unitName: unit, helpText: help)
        }
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: descriptor(name, "total", help), labels: [])
        }
        messagesSeen = counter("messages_seen", "Messages whose end reached the filter.")
        messagesTracked = counter("messages_tracked", "Messages that left with a tracking ID.")
        let skippedName = descriptor("messages_skipped", "total", "Messages passed on untracked, by reason.")
        var skipped: [SkipLabel: Counter] = [:]
        for label in SkipLabel.allCases {
            skipped[label] = registry.makeCounter(descriptor: skippedName, labels: [("reason", label.rawValue)])
        }
        self.skipped = skipped
        enrichmentWritten = counter("enrichment_written", "Enrichment records written to Redis directly.")
        enrichmentSpooled = counter("enrichment_spooled", "Enrichment records put in the spool because Redis was unavailable.")
        enrichmentReplayed = counter("enrichment_replayed", "Spooled enrichment records later written to Redis.")
        enrichmentLost = counter("enrichment_lost", "Enrichment records neither written nor spooled, or refused by Redis.")
        spoolWriteErrors = counter("spool_write_errors", "Failed spool appends (disk full, I/O errors).")
        redisErrors = counter("redis_errors", "Failed Redis round trips and refused batches.")
        redisConfigErrors = counter("redis_config_errors", "Redis refusals caused by the configuration (redis_password, redis_db).")
        spoolBytes = registry.makeGauge(descriptor: descriptor("spool", "bytes", "Bytes waiting in the spool."), labels: [])
    }

    /// Counts one message passed on untracked.
    func countSkipped(_ label: SkipLabel) {
        skipped[label]?.increment()
    }

    /// The Prometheus text exposition, with the spool gauge set to `spoolBytes`.
    func exposition(spoolBytes bytes: Int) -> [UInt8] {
        spoolBytes.set(Int64(bytes))
        return registry.emitToBuffer()
    }
}
