import Config
import Foundation

/// How `mailtrail feed` batches, signs, sends and retries (from the `feed_*` parameters).
struct FeedPolicy: Sendable {
    /// Events per request at most.
    var batchSize: Int
    /// A partial batch is sent once its first event has waited this long, seconds.
    var batchAge: Double
    /// Attempts per batch before its events go to the dead-letter stream.
    var maxAttempts: Int
    var backoff: Backoff
    /// Time limit of one request, seconds.
    var timeout: Double
    /// Pending events of other consumers idle this long are claimed, seconds.
    var claimIdle: Double
    var format: FeedFormat

    init(batchSize: Int, batchAge: Double, maxAttempts: Int, backoff: Backoff, timeout: Double,
         claimIdle: Double, format: FeedFormat) {
        self.batchSize = batchSize
        self.batchAge = batchAge
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.timeout = timeout
        self.claimIdle = claimIdle
        self.format = format
    }

    init(settings: Settings, format: FeedFormat? = nil) throws {
        guard let configured = FeedFormat(rawValue: settings.feedFormat) else {
            throw CLIError("feed_format: \"\(settings.feedFormat)\" is not json or sparkpost", status: EX_CONFIG)
        }
        self.init(batchSize: settings.feedBatchSize, batchAge: settings.feedBatchAge,
                  maxAttempts: settings.feedMaxAttempts,
                  backoff: Backoff(base: settings.feedBackoffBase, cap: settings.feedBackoffCap),
                  timeout: settings.feedTimeout, claimIdle: settings.feedClaimIdle, format: format ?? configured)
    }

    /// The longest a live feeder leaves one of its pending events untouched: one request plus
    /// one backoff wait, or a partial batch's age. `claimIdle` must exceed it, or live feeders
    /// would take each other's events (duplicates).
    var longestSilence: Double {
        max(batchAge, timeout + 1 + backoff.cap)
    }
}
