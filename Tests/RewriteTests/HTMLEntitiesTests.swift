import Testing
@testable import Rewrite

private func decode(_ s: String) -> String? {
    HTMLEntities.decodeAttributeValue(Array(s.utf8)).map { String(decoding: $0, as: UTF8.self) }
}

@Suite struct HTMLEntitiesTests {
    @Test(arguments: [
        ("no references", "no references"),
        ("a=1&amp;b=2", "a=1&b=2"),
        ("&lt;&gt;&quot;&apos;&nbsp;", "<>\"'\u{00A0}"),
        ("&AMP;&LT;&GT;&QUOT;", "&<>\""),
        ("&#38;&#x26;&#X26;&#0038;", "&&&&"),
        ("&#x2F;&#47&#x3a;", "/\u{2F}:"),
        ("&#128;&#x9F;&#x81;", "\u{20AC}\u{0178}\u{0081}"),
        ("&#0;&#xD800;&#x110000;&#99999999999;", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ("&#x1F600;&#233;", "\u{1F600}\u{00E9}"),
        ("https&colon;//x&sol;y&quest;a&equals;1&num;f", "https://x/y?a=1#f"),
        ("a=1&amp&b", "a=1&&b"),
        ("&copy &copy. &eacute;", "\u{00A9} \u{00A9}. \u{00E9}"),
    ])
    func decodes(_ input: String, _ expected: String) {
        #expect(decode(input) == expected)
    }

    @Test(arguments: [
        "a=1&b=2", "&copy=1", "&ampx", "&amp=1", "&utm_source", "& x", "&", "&#", "&#x;", "&#;", "&;", "&#xg",
    ])
    func leavesNonReferencesLiteral(_ input: String) {
        // In attribute values a legacy name followed by '=' or an alphanumeric is text.
        #expect(decode(input) == input)
    }

    @Test func unknownTerminatedNameIsUncertain() {
        #expect(decode("https://x/?a&notin;b") == nil)
        #expect(decode("&foo;") == nil)
    }

    @Test func escapesForEitherQuote() {
        #expect(HTMLEntities.escapeAttributeValue(Array(#"a&b"c'd<e>"#.utf8)) == Array("a&amp;b&quot;c&#39;d<e>".utf8))
        let plain = Array("https://t.example/c/AbC-_".utf8)
        #expect(HTMLEntities.escapeAttributeValue(plain) == plain)
    }

    @Test func escapeThenDecodeRoundTrips() {
        let value = Array(#"https://x/?a=1&b="2"&c='3'&amp;"#.utf8)
        #expect(HTMLEntities.decodeAttributeValue(HTMLEntities.escapeAttributeValue(value)) == value)
    }
}
