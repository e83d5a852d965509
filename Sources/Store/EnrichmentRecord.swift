/// What the milter knows about one tracked message, stored as the `mt:msg:<id>` hash so
/// the tracker can turn an anonymous pixel hit into an event with recipient, campaign, etc.
///
/// Field names are listed in ``EnrichmentField``. List-valued fields (`recipients`, `tags`)
/// are JSON arrays of strings; numbers are decimal text. Optional fields that are nil, and
/// `tags` when empty, are not written at all.
public struct EnrichmentRecord: Equatable, Sendable {
    /// 32 lowercase hex digits, the value of the `X-MailTrail-ID` header.
    public var trackingID: String
    /// Envelope sender; empty for the null sender `<>`.
    public var sender: String
    /// Envelope recipients in `RCPT TO` order.
    public var recipients: [String]
    public var messageID: String?
    /// nil when subject storage is configured off.
    public var subject: String?
    public var campaign: String?
    public var tags: [String]
    /// Postfix queue id.
    public var queueID: String?
    public var clientAddress: String?
    public var saslUser: String?
    /// Unix seconds when the milter handled the message.
    public var sentAt: Int64
    /// Number of links the rewriter wrapped.
    public var linksWrapped: Int

    public init(
        trackingID: String,
        sender: String,
        recipients: [String],
        messageID: String? = nil,
        subject: String? = nil,
        campaign: String? = nil,
        tags: [String] = [],
        queueID: String? = nil,
        clientAddress: String? = nil,
        saslUser: String? = nil,
        sentAt: Int64,
        linksWrapped: Int
    ) {
        self.trackingID = trackingID
        self.sender = sender
        self.recipients = recipients
        self.messageID = messageID
        self.subject = subject
        self.campaign = campaign
        self.tags = tags
        self.queueID = queueID
        self.clientAddress = clientAddress
        self.saslUser = saslUser
        self.sentAt = sentAt
        self.linksWrapped = linksWrapped
    }

    /// The recipient when there is exactly one, else nil (events then carry no recipient).
    public var singleRecipient: String? { recipients.count == 1 ? recipients[0] : nil }

    /// The hash fields in a fixed order (the order of ``EnrichmentField``).
    public var fields: [(EnrichmentField, [UInt8])] {
        var fields: [(EnrichmentField, [UInt8])] = [(.sender, Array(sender.utf8))]
        if let singleRecipient { fields.append((.recipient, Array(singleRecipient.utf8))) }
        fields.append((.recipients, JSONStringArray.encode(recipients)))
        fields.append((.rcptCount, Array(String(recipients.count).utf8)))
        if let messageID { fields.append((.messageID, Array(messageID.utf8))) }
        if let subject { fields.append((.subject, Array(subject.utf8))) }
        if let campaign { fields.append((.campaign, Array(campaign.utf8))) }
        if !tags.isEmpty { fields.append((.tags, JSONStringArray.encode(tags))) }
        if let queueID { fields.append((.queueID, Array(queueID.utf8))) }
        if let clientAddress { fields.append((.clientAddress, Array(clientAddress.utf8))) }
        if let saslUser { fields.append((.saslUser, Array(saslUser.utf8))) }
        fields.append((.sentAt, Array(String(sentAt).utf8)))
        fields.append((.links, Array(String(linksWrapped).utf8)))
        return fields
    }

    /// `HSET mt:msg:<id> field value …` then `EXPIRE mt:msg:<id> ttl`: one pipelined batch.
    ///
    /// - Parameter ttlSeconds: lifetime of the record (10 days by default in the
    ///   configuration); must be positive, since `EXPIRE` with 0 deletes the key.
    public func commands(schema: KeySchema = KeySchema(), ttlSeconds: Int) -> [RedisCommand] {
        precondition(ttlSeconds > 0, "the enrichment TTL must be positive")
        let key = Array(schema.message(trackingID).utf8)
        var hset: RedisCommand = [Array("HSET".utf8), key]
        for (field, value) in fields {
            hset.append(field.bytes)
            hset.append(value)
        }
        return [hset, [Array("EXPIRE".utf8), key, Array(String(ttlSeconds).utf8)]]
    }

    /// Rebuilds a record from an `HGETALL` answer (see ``RedisReply/fieldMap``).
    ///
    /// `sender`, `recipients`, `sent_at` and `links` are required; the tracker's counters
    /// are ignored here.
    public init(trackingID: String, fields map: [String: [UInt8]]) throws(EnrichmentDecodingError) {
        func text(_ field: EnrichmentField) -> String? {
            map[field.rawValue].map { String(decoding: $0, as: UTF8.self) }
        }
        func required(_ field: EnrichmentField) throws(EnrichmentDecodingError) -> String {
            guard let value = text(field) else { throw .missingField(field.rawValue) }
            return value
        }
        func number(_ field: EnrichmentField) throws(EnrichmentDecodingError) -> Int64 {
            let value = try required(field)
            guard let number = Int64(value) else { throw .invalidField(field.rawValue, value) }
            return number
        }
        func list(_ field: EnrichmentField) throws(EnrichmentDecodingError) -> [String] {
            guard let raw = map[field.rawValue] else { return [] }
            guard let values = JSONStringArray.decode(raw) else {
                throw .invalidField(field.rawValue, String(decoding: raw, as: UTF8.self))
            }
            return values
        }
        guard map[EnrichmentField.recipients.rawValue] != nil else {
            throw .missingField(EnrichmentField.recipients.rawValue)
        }
        let links = try number(.links)
        guard let linksWrapped = Int(exactly: links), linksWrapped >= 0 else {
            throw .invalidField(EnrichmentField.links.rawValue, String(links))
        }
        self.init(
            trackingID: trackingID,
            sender: try required(.sender),
            recipients: try list(.recipients),
            messageID: text(.messageID),
            subject: text(.subject),
            campaign: text(.campaign),
            tags: try list(.tags),
            queueID: text(.queueID),
            clientAddress: text(.clientAddress),
            saslUser: text(.saslUser),
            sentAt: try number(.sentAt),
            linksWrapped: linksWrapped
        )
    }
}

/// Why an enrichment hash could not be decoded.
public enum EnrichmentDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingField(String)
    case invalidField(String, String)

    public var description: String {
        switch self {
        case .missingField(let field): return "enrichment record lacks field \(field)"
        case .invalidField(let field, let value): return "enrichment field \(field) has an invalid value: \(value)"
        }
    }
}
