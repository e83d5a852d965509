import Config
import Foundation
import Rewrite
import Store

/// Turns what the milter saw of a message into its enrichment record (`mt:msg:<id>`).
struct EnrichmentBuilder {
    let recordSubject: Bool
    let campaignHeaders: [String]
    let tagHeaders: [String]

    init(settings: Settings) {
        recordSubject = settings.recordSubject
        campaignHeaders = settings.campaignHeaders
        tagHeaders = settings.tagHeaders
    }

    func record(for message: MessageInProgress, header: HeaderBlock, session: MilterSession,
                trackingID: TrackingID, queueID: String?, sentAt: Date, linksWrapped: Int) -> EnrichmentRecord {
        func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
        let campaign = campaignHeaders.lazy.compactMap { header.value(named: $0) }.first.map(text)
        let tags = tagHeaders.flatMap { name in
            header.fields(named: name).flatMap { field in
                text(header.unfoldedValue(of: field)).split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        }
        return EnrichmentRecord(
            trackingID: trackingID.hex,
            sender: message.sender,
            recipients: message.recipients,
            messageID: header.value(named: "Message-ID").map(text),
            subject: recordSubject ? header.value(named: "Subject").map(text) : nil,
            campaign: campaign,
            tags: tags,
            queueID: queueID,
            clientAddress: session.clientAddress.isEmpty ? nil : session.clientAddress,
            saslUser: message.saslUser,
            sentAt: Int64(sentAt.timeIntervalSince1970),
            linksWrapped: linksWrapped)
    }
}
