/// Field names of the `mt:msg:<id>` enrichment hash. They are part of the product: operators
/// read them with `redis-cli HGETALL`, and the tracker and the CLI decode them.
///
/// The milter writes everything up to ``links`` once per message (``EnrichmentRecord``);
/// the tracker later maintains the engagement fields (``EngagementUpdate``).
public enum EnrichmentField: String, CaseIterable, Sendable {
    /// Envelope sender (`MAIL FROM`), empty for bounces.
    case sender
    /// The envelope recipient, present only when there is exactly one.
    case recipient
    /// Every envelope recipient, as a JSON array of strings.
    case recipients
    /// Number of envelope recipients (decimal).
    case rcptCount = "rcpt_count"
    /// The `Message-ID` header value, as written (angle brackets included).
    case messageID = "message_id"
    /// The `Subject` header value (absent when subject storage is configured off).
    case subject
    /// The campaign header value (e.g. `X-Campaign-ID`).
    case campaign
    /// Tags from the configured tag headers (e.g. `X-Mailgun-Tag`), as a JSON array of strings.
    case tags
    /// Postfix queue id (`{i}` macro).
    case queueID = "queue_id"
    /// SMTP client address.
    case clientAddress = "client_addr"
    /// SASL login name of the submitting client.
    case saslUser = "sasl_user"
    /// When the milter processed the message (unix seconds, decimal).
    case sentAt = "sent_at"
    /// Number of links wrapped in the message (decimal).
    case links
    /// Number of recorded opens (tracker, `HINCRBY`).
    case opens
    /// Number of recorded clicks (tracker, `HINCRBY`).
    case clicks
    /// Unix seconds of the first recorded open (tracker, `HSETNX`).
    case firstOpenAt = "first_open_at"
    /// Unix seconds of the first recorded click (tracker, `HSETNX`).
    case firstClickAt = "first_click_at"

    /// The field name as bytes, ready for a command.
    public var bytes: [UInt8] { Array(rawValue.utf8) }
}
