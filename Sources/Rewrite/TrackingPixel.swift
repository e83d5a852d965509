/// The open-tracking pixel: its markup, and how to tell that a part already has one.
public enum TrackingPixel {
    /// The `<img>` inserted for `url` (HTML-escaped):
    ///
    ///     <img src="URL" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">
    ///
    /// `display:block` keeps it from adding a line box to the text around it, the empty
    /// `alt` keeps screen readers and image-blocking clients silent, and `border="0"` plus
    /// the inline style cover clients that honour only one of them.
    public static func markup(url: [UInt8]) -> [UInt8] {
        var out = prefix
        out.append(contentsOf: HTMLEntities.escapeAttributeValue(url))
        out.append(contentsOf: suffix)
        return out
    }

    /// The bytes every pixel URL on `trackingBase` starts with: the base (with a trailing
    /// `/` added when missing) followed by `o/`. Empty for an empty base.
    public static func urlPrefix(trackingBase: [UInt8]) -> [UInt8] {
        guard !trackingBase.isEmpty else { return [] }
        var marker = trackingBase
        if marker.last != ASCII.slash { marker.append(ASCII.slash) }
        marker.append(contentsOf: openPath)
        return marker
    }

    /// True when `html` already holds a pixel URL on `trackingBase`, exact bytes, anywhere:
    /// such a part was rewritten before and must not get a second pixel.
    public static func isPresent(in html: [UInt8], trackingBase: [UInt8]) -> Bool {
        let marker = urlPrefix(trackingBase: trackingBase)
        guard !marker.isEmpty else { return false }
        return html.withUnsafeBufferPointer { $0.firstIndex(of: marker, from: 0, to: $0.count) != nil }
    }

    /// True when `html` holds a pixel URL on `trackingBase` that survives `edits` (sorted,
    /// non-overlapping): one inside bytes an edit replaces, such as the destination of a
    /// link being wrapped that quotes a pixel URL, is gone from the output, so it does not
    /// count. Deciding on the output this way keeps a second rewrite from adding a pixel.
    static func isPresent(in html: [UInt8], trackingBase: [UInt8], keptBy edits: [ByteEdit]) -> Bool {
        let marker = urlPrefix(trackingBase: trackingBase)
        guard !marker.isEmpty else { return false }
        return html.withUnsafeBufferPointer { buffer in
            var from = 0
            var next = 0  // first edit that does not end before the occurrence
            while let at = buffer.firstIndex(of: marker, from: from, to: buffer.count) {
                while next < edits.count && edits[next].range.upperBound <= at { next += 1 }
                if next == edits.count || edits[next].range.lowerBound >= at + marker.count { return true }
                from = at + 1
            }
            return false
        }
    }

    private static let prefix: [UInt8] = Array(#"<img src=""#.utf8)
    private static let suffix: [UInt8] = Array(
        #"" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#.utf8)
    private static let openPath: [UInt8] = Array("o/".utf8)
}
