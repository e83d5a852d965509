import Testing
@testable import Rewrite

@Suite struct TrackingPixelTests {
    @Test func markupIsTheDocumentedImage() {
        let markup = TrackingPixel.markup(url: Array("https://t.example/o/AbC_-.gif".utf8))
        #expect(String(decoding: markup, as: UTF8.self)
            == #"<img src="https://t.example/o/AbC_-.gif" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#)
    }

    @Test func markupEscapesTheURL() {
        let markup = TrackingPixel.markup(url: Array(#"https://t.example/o/x?a=1&b="2""#.utf8))
        #expect(String(decoding: markup, as: UTF8.self).hasPrefix(#"<img src="https://t.example/o/x?a=1&amp;b=&quot;2&quot;" "#))
    }

    @Test func urlPrefixAddsMissingSlash() {
        #expect(TrackingPixel.urlPrefix(trackingBase: Array("https://t.example".utf8)) == Array("https://t.example/o/".utf8))
        #expect(TrackingPixel.urlPrefix(trackingBase: Array("https://t.example/".utf8)) == Array("https://t.example/o/".utf8))
        #expect(TrackingPixel.urlPrefix(trackingBase: []) == [])
    }

    @Test func detectsAnExistingPixel() {
        let base = Array("https://t.example/".utf8)
        #expect(TrackingPixel.isPresent(in: Array(#"<p>x</p><img src="https://t.example/o/tok.gif">"#.utf8), trackingBase: base))
        #expect(TrackingPixel.isPresent(in: Array("https://t.example/o/".utf8), trackingBase: base))
        #expect(!TrackingPixel.isPresent(in: Array(#"<a href="https://t.example/c/tok">"#.utf8), trackingBase: base))
        #expect(!TrackingPixel.isPresent(in: Array("https://t.example/o".utf8), trackingBase: base))
        #expect(!TrackingPixel.isPresent(in: Array("https://other.example/o/x.gif".utf8), trackingBase: base))
        #expect(!TrackingPixel.isPresent(in: Array("no/".utf8), trackingBase: []))
    }
}
