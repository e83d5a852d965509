import Prometheus

/// The tracker's Prometheus metrics, served at `/metrics`:
///
/// | metric | type | meaning |
/// |---|---|---|
/// | `mailtrail_tracker_requests_total{route,status}` | counter | answers, by route (`open`, `click`, `healthz`, `metrics`, `other`) and HTTP status |
/// | `mailtrail_tracker_events_written_total` | counter | events added to the stream directly |
/// | `mailtrail_tracker_events_spooled_total` | counter | events put in the spool (Redis down, slow or the queue full) |
/// | `mailtrail_tracker_events_replayed_total` | counter | spooled events later added to the stream, or found there already (the batch ran but its reply was lost) |
/// | `mailtrail_tracker_queue_overflows_total` | counter | hits spooled by a request handler because the queue was full |
/// | `mailtrail_tracker_events_lost_total` | counter | events that could be neither written nor spooled, or that Redis refused |
/// | `mailtrail_tracker_redis_errors_total` | counter | failed Redis round trips and refused commands |
/// | `mailtrail_tracker_redis_config_errors_total` | counter | Redis refusals caused by the configuration (`redis_password`, `redis_db`) |
/// | `mailtrail_tracker_spool_write_errors_total` | counter | failed spool appends (disk full, I/O errors) |
/// | `mailtrail_tracker_events_unenriched_total` | counter | events written without enrichment because their message's hash could not be read |
/// | `mailtrail_tracker_event_queue_depth` | gauge | hits waiting in memory for the writer (queue and overflow) |
/// | `mailtrail_tracker_spool_bytes` | gauge | bytes waiting in the spool |
///
/// Every counter exists from the start (at 0), and the request counters are created once and
/// found by position, so counting a request is a look at a handful of entries and one atomic add.
public final class TrackerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Per route (in `TrackerRoute.allCases` order), its statuses and their counters.
    private let requestCounters: [[(status: Int, counter: Counter)]]
    public let eventsWritten: Counter
    public let eventsSpooled: Counter
    public let eventsReplayed: Counter
    public let eventsLost: Counter
    public let queueOverflows: Counter
    public let redisErrors: Counter
    public let redisConfigErrors: Counter
    public let spoolWriteErrors: Counter
    public let eventsUnenriched: Counter
    private let queueDepth: Gauge
    private let spoolBytes: Gauge

    /// Every status each route can answer with (refusals before routing count as `other`).
    public static let statuses: [TrackerRoute: [Int]] = [
        .open: [200, 405],
        .click: [302, 404, 405],
        .health: [200, 405],
        .metrics: [200, 405],
        .other: [400, 404, 408, 414, 431],
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "mailtrail", subsystem: "tracker", metricName: name, unitName: unit, helpText: help)
        }
        let requests = descriptor("requests", "total", "HTTP answers by route and status.")
        requestCounters = TrackerRoute.allCases.map { route in
            (Self.statuses[route] ?? []).map { status in
                (status, registry.makeCounter(descriptor: requests, labels: [("route", route.rawValue), ("status", String(status))]))
            }
        }
        eventsWritten = registry.makeCounter(descriptor: descriptor("events_written", "total", "Events added to the stream directly."), labels: [])
        eventsSpooled = registry.makeCounter(descriptor: descriptor("events_spooled", "total", "Events put in the local spool."), labels: [])
        eventsReplayed = registry.makeCounter(descriptor: descriptor("events_replayed", "total", "Spooled events later added to the stream."), labels: [])
        queueOverflows = registry.makeCounter(descriptor: descriptor("queue_overflows", "total", "Hits spooled by a request handler because the event queue was full."), labels: [])
        eventsLost = registry.makeCounter(descriptor: descriptor("events_lost", "total", "Events neither written nor spooled, or refused by Redis."), labels: [])
        redisErrors = registry.makeCounter(descriptor: descriptor("redis_errors", "total", "Failed Redis round trips and refused commands."), labels: [])
        redisConfigErrors = registry.makeCounter(descriptor: descriptor("redis_config_errors", "total", "Redis refusals caused by the configuration (redis_password, redis_db)."), labels: [])
        spoolWriteErrors = registry.makeCounter(descriptor: descriptor("spool_write_errors", "total", "Failed spool appends (disk full, I/O errors)."), labels: [])
        eventsUnenriched = registry.makeCounter(descriptor: descriptor("events_unenriched", "total", "Events written without enrichment because their message's hash could not be read."), labels: [])
        queueDepth = registry.makeGauge(descriptor: descriptor("event_queue", "depth", "Hits waiting in memory for the writer."), labels: [])
        spoolBytes = registry.makeGauge(descriptor: descriptor("spool", "bytes", "Bytes waiting in the spool."), labels: [])
    }

    /// Counts one answer.
    public func countRequest(route: TrackerRoute, status: Int) {
        for entry in requestCounters[route.position] where entry.status == status {
            entry.counter.increment()
            return
        }
        assertionFailure("route \(route) cannot answer \(status): add it to TrackerMetrics.statuses")
    }

    /// The Prometheus text exposition, with the gauges set to the given current values.
    public func exposition(queueDepth depth: Int, spoolBytes bytes: Int) -> [UInt8] {
        queueDepth.set(Int64(depth))
        spoolBytes.set(Int64(bytes))
        return registry.emitToBuffer()
    }
}
