import Daemon
import Logging
import Store

/// Counts and logs what becomes of enrichment records (written, spooled, replayed, lost) and
/// the troubles behind them. Troubles that last (a full spool disk, a `redis_password` Redis
/// refuses) give one clear line at once and then one a minute at most, whatever the number of
/// messages: the metrics carry the counts.
final class EnrichmentReporter: Sendable {
    let metrics: MilterMetrics
    private let log: Logger
    private let spoolDirectory: String
    private let spoolTrouble: LogThrottle
    private let redisConfigTrouble: LogThrottle

    /// `spoolDirectory`: the milter's spool, named in the lines about it.
    init(metrics: MilterMetrics, log: Logger, spoolDirectory: String, reminderInterval: Double = 60) {
        self.metrics = metrics
        self.log = log
        self.spoolDirectory = spoolDirectory
        spoolTrouble = LogThrottle(interval: reminderInterval)
        redisConfigTrouble = LogThrottle(interval: reminderInterval)
    }

    /// Records what `DurableRedisWriter.submit` did with one message's record; returns where the
    /// record went (`redis`, `spool` or `lost`) for the message's log line. `log` carries the
    /// message's queue id.
    func submitted(_ outcome: Result<DurableRedisWriter.SubmitOutcome, SpoolError>, log: Logger) -> String {
        switch outcome {
        case .success(.written):
            metrics.enrichmentWritten.increment()
            return "redis"
        case .success(.spooled(let reason)):
            metrics.enrichmentSpooled.increment()
            if let reason {
                metrics.redisErrors.increment()
                redisFailed(reason, log: log)
            }
            return "spool"
        case .success(.rejected(let why)):
            metrics.redisErrors.increment()
            metrics.enrichmentLost.increment()
            log.error("Redis refused the enrichment record: \(why)")
            return "lost"
        case .failure(let error):
            metrics.spoolWriteErrors.increment()
            metrics.enrichmentLost.increment()
            spoolFailed(error, log: log)
            return "lost"
        }
    }

    /// Records one tick of the spool replay loop.
    func replayed(_ outcome: Result<DurableRedisWriter.ReplayReport, SpoolError>) {
        switch outcome {
        case .success(let report):
            if report.delivered > 0 {
                metrics.enrichmentReplayed.increment(by: Int64(report.delivered))
                log.info("replayed spooled enrichment records", metadata: ["count": "\(report.delivered)"])
            }
            if report.rejected + report.undecodable > 0 {
                metrics.enrichmentLost.increment(by: Int64(report.rejected + report.undecodable))
                log.error("dropped spooled enrichment records Redis refused or that were damaged",
                          metadata: ["refused": "\(report.rejected)", "damaged": "\(report.undecodable)",
                                     "error": "\(report.lastRejection ?? "")"])
            }
            if let stopped = report.stoppedBy {
                metrics.redisErrors.increment()
                if stopped.isConfiguration { redisFailed(stopped, log: log) }
            }
        case .failure(let error):
            spoolFailed(error, log: log)
        }
    }

    /// Records the start-up check of Redis failing.
    func checked(_ error: RedisError) {
        metrics.redisErrors.increment()
        if error.isConfiguration {
            redisFailed(error, log: log)
        } else {
            log.warning("\(error); enrichment records go to the spool until Redis answers", metadata: ["spool": "\(spoolDirectory)"])
        }
    }

    /// A Redis failure that made records go to the spool. A configuration mistake is repeated
    /// (rate-limited) until fixed; Redis being unreachable is said once per outage.
    private func redisFailed(_ error: RedisError, log: Logger) {
        guard error.isConfiguration else {
            log.warning("Redis unavailable, enrichment spooled: \(error)")
            return
        }
        metrics.redisConfigErrors.increment()
        guard let unreported = redisConfigTrouble.occurrence() else { return }
        let note = LogThrottle.note(unreported: unreported, "Redis refusal")
        log.error("\(error); enrichment records wait in the spool \(spoolDirectory) until it is fixed\(note)")
    }

    private func spoolFailed(_ error: SpoolError, log: Logger) {
        guard let unreported = spoolTrouble.occurrence() else { return }
        let note = LogThrottle.note(unreported: unreported, "spool failure")
        let remedy = error.remedy(directory: spoolDirectory)
        log.error("cannot spool enrichment records while Redis is unavailable: \(error): \(remedy); mail still flows, tracked, but these records are lost\(note)")
    }

}
