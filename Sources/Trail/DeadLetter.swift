import Store

/// One entry of the dead-letter stream `mt:events:dead`: an event the webhook refused for
/// good, with what is needed to judge and resend it.
///
/// Fields: `id` (the event id), `json` (the event exactly as it was on `mt:events`),
/// `attempts`, `error` (the last failure: `HTTP 500: …`, `timed out`, …), `source-id` (its
/// entry id on `mt:events`) and `failed-at` (unix seconds). A malformed entry keeps whichever
/// of `id` and `json` it had, with `attempts` 0.
struct DeadLetter: Equatable {
    var sourceID: String
    var eventID: [UInt8]?
    var json: [UInt8]?
    var attempts: Int
    var error: String

    /// `XADD <stream> * id … json … attempts … error … source-id … failed-at …`.
    func xaddCommand(stream: String, failedAt: Int64) -> RedisCommand {
        var command = RedisCommand(redisArguments: ["XADD", stream, "*"])
        if let eventID { command += [Array(TrackingEvent.streamIDField.utf8), eventID] }
        if let json { command += [Array(TrackingEvent.streamJSONField.utf8), json] }
        command += RedisCommand(redisArguments: [
            "attempts", String(attempts), "error", error, "source-id", sourceID, "failed-at", String(failedAt),
        ])
        return command
    }
}
