import Glibc
import TesseraSupport

/// Reads a JPEG's structure from its markers: size, components, sampling, progressive/arithmetic,
/// EXIF orientation, ICC profile; and checks it is whole (every segment in bounds, an end marker).
public enum JPEGInspector {
    public static func inspect(_ bytes: [UInt8], limits: ImageLimits = ImageLimits()) throws -> JPEGInfo {
        guard bytes.count <= limits.maxInputBytes else {
            throw ImagingError.inputTooLarge(bytes: bytes.count, limit: limits.maxInputBytes)
        }
        let kind = ImageFormat.sniff(bytes)
        guard kind == "JPEG" else { throw ImagingError.unsupportedFormat(kind) }
        let info = try bytes.withUnsafeBufferPointer { try scan($0, limits) }
        guard info.width * info.height <= limits.maxPixels else {
            throw ImagingError.tooManyPixels(width: info.width, height: info.height, limit: limits.maxPixels)
        }
        try checkCoefficients(info, limits)
        return info
    }

    /// A multi-scan file costs its whole coefficient image before the first pixel, at any scale.
    static func checkCoefficients(_ info: JPEGInfo, _ limits: ImageLimits) throws {
        guard info.isMultiScan && info.coefficientBytes > limits.maxCoefficientBytes else { return }
        let layout = info.isProgressive ? "progressive" : "baseline \(info.scanCount)-scan"
        throw ImagingError.tooMuchMemory(
            needed: info.coefficientBytes, limit: limits.maxCoefficientBytes,
            reason: "a \(layout) \(info.width)x\(info.height) \(info.subsampling) JPEG is decoded from its whole "
                + "coefficient image whatever the output size (maxCoefficientBytes)"
                + ImageLimits.neededFunction { $0.maxCoefficientBytes >= info.coefficientBytes })
    }

    private static func scan(_ b: UnsafeBufferPointer<UInt8>, _ limits: ImageLimits) throws -> JPEGInfo {
        var info = JPEGInfo()
        var iccChunks: [ICCProfile.Chunk] = []
        var componentIDs: [UInt8] = []
        var sawFrame = false
        // What libjpeg reads a three-component picture's colours from (jdapimin.c's default parameters):
        // a JFIF marker means YCbCr; else an Adobe marker's transform (0: RGB); else the component ids.
        var sawJFIF = false, adobeTransform: UInt8?
        var i = 2
        let n = b.count
        func u16(_ at: Int) -> Int { Int(b[at]) << 8 | Int(b[at + 1]) }

        // Junk libjpeg skips between segments (not after a scan: that is the scan's data), for one note.
        var junk = (bytes: 0, gaps: 0)
        var afterScan = false
        while true {
            guard let found = nextMarker(b, from: i) else {
                throw ImagingError.truncated(afterScan
                    ? "the data ends inside the compressed image data, before the end-of-image marker"
                    : n > i && b[n - 1] == 0xFF ? "the data ends inside a marker" : "the data ends before the end-of-image marker")
            }
            let marker = found.marker
            i = found.next
            if found.discarded > 0 && !afterScan {
                if junk.gaps == 0 { info.firstJunk = (found.discarded, marker) }
                junk.bytes += found.discarded
                junk.gaps += 1
            }
            // Restart markers and TEM stand alone, in a scan's data or out of it (libjpeg reads on past them).
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }
            afterScan = false
            switch marker {
            case 0xD9:
                guard sawFrame && info.scanCount > 0 else {
                    throw ImagingError.corrupt("end-of-image marker before any image data")
                }
                if !iccChunks.isEmpty {
                    switch ICCProfile.assemble(iccChunks, from: b, maxBytes: limits.maxICCBytes) {
                    case let .success(profile): info.iccProfile = profile
                    case let .failure(dropped): info.notes.append(dropped.description)
                    }
                }
                if let first = info.firstJunk {
                    info.notes.append("\(junk.bytes) extraneous byte\(junk.bytes == 1 ? "" : "s") between segments skipped, "
                        + "as libjpeg skips them (\(junk.gaps == 1 ? "" : "\(junk.gaps) places, the first: ")"
                        + "\(first.bytes) before marker 0x\(hexString([first.marker])))")
                }
                return info
            case 0xD8:
                throw ImagingError.corrupt("a second start-of-image marker at byte \(i - 2)")
            case 0x02...0xBF, 0xC8, 0xDE, 0xDF, 0xF0...0xFD:
                // Reserved markers (and JPG, DHP, EXP, JPGn), where libjpeg stops with an error: reading a
                // length after one here would skip bytes libjpeg never reads as a segment.
                throw ImagingError.corrupt("0xFF 0x\(hexString([marker])) at byte \(i - 2) is not a marker a JPEG may have here")
            default:
                break
            }
            guard i + 2 <= n else { throw ImagingError.truncated("the data ends inside the 0x\(hexString([marker])) segment header") }
            let length = u16(i)
            guard length >= 2 else { throw ImagingError.corrupt("segment 0x\(hexString([marker])) has length \(length)") }
            guard i + length <= n else {
                throw ImagingError.truncated("segment 0x\(hexString([marker])) needs \(length) bytes, \(n - i) remain")
            }
            let body = i + 2
            let bodyLength = length - 2
            switch marker {
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                guard !sawFrame else { throw ImagingError.corrupt("more than one frame header") }
                sawFrame = true
                componentIDs = try readFrame(b, body, bodyLength, marker, &info)
            case 0xE1 where info.exifSegment == nil && bodyLength > 14
                && b[body] == 0x45 && b[body + 1] == 0x78 && b[body + 2] == 0x69 && b[body + 3] == 0x66
                && b[body + 4] == 0 && b[body + 5] == 0:
                info.exifSegment = (i - 2)..<(i + length)
                readOrientation(b, tiff: body + 6, end: body + bodyLength, &info)
            case 0xE2 where bodyLength >= 14 && Array(b[body..<(body + 12)]) == ICCProfile.signature:
                // Only where the chunk is: a file of many chunks is not copied unless it is a valid profile.
                iccChunks.append(ICCProfile.Chunk(sequence: Int(b[body + 12]), count: Int(b[body + 13]),
                                                  bytes: (body + 14)..<(body + bodyLength)))
            case 0xE0 where bodyLength >= 5 && Array(b[body..<(body + 5)]) == Array("JFIF\0".utf8):
                sawJFIF = true
            case 0xEE where bodyLength >= 12 && Array(b[body..<(body + 5)]) == Array("Adobe".utf8):
                info.hasAdobeMarker = true
                let transform = b[body + 11]
                adobeTransform = transform
                // Transform 2 marks YCCK; it matters only for four components.
                if transform == 2 && (!sawFrame || info.components == 4) { info.colorSpace = .ycck }
            case 0xDA:
                guard sawFrame else { throw ImagingError.corrupt("scan before the frame header") }
                if info.scanCount == 0 && info.components == 3 {
                    // Decided where libjpeg decides it, at the first scan: a raw plane of R, G or B would
                    // otherwise be encoded as Y, Cb or Cr.
                    info.colorSpace = sawJFIF ? .yCbCr
                        : adobeTransform.map { $0 == 0 ? .rgb : .yCbCr }
                        ?? (componentIDs == [1, 2, 3] ? .yCbCr : componentIDs == Array("RGB".utf8) ? .rgb : .yCbCr)
                }
                try readScan(b, body, bodyLength, componentIDs, &info)
                // Refused as soon as the count is over, so a file of many thousand scans costs no more.
                guard info.scanCount <= limits.maxScans else { throw ImagingError.tooManyScans(limit: limits.maxScans) }
                // The compressed data follows: libjpeg's decoder reads it up to the first marker (other than a
                // restart), then searches on as below; whatever it skipped there was the scan's.
                afterScan = true
            default:
                break
            }
            i += length
        }
    }

    /// Reads the frame header into `info`; returns the component identifiers, in frame order.
    private static func readFrame(_ b: UnsafeBufferPointer<UInt8>, _ body: Int, _ length: Int, _ marker: UInt8,
                                  _ info: inout JPEGInfo) throws -> [UInt8] {
        guard length >= 6 else { throw ImagingError.corrupt("frame header of \(length) bytes") }
        info.precision = Int(b[body])
        info.height = Int(b[body + 1]) << 8 | Int(b[body + 2])
        info.width = Int(b[body + 3]) << 8 | Int(b[body + 4])
        info.components = Int(b[body + 5])
        info.isProgressive = [0xC2, 0xC6, 0xCA, 0xCE].contains(marker)
        info.isArithmetic = marker >= 0xC9
        guard length >= 6 + 3 * info.components, info.components > 0 else {
            throw ImagingError.corrupt("frame header lists \(info.components) components in \(length) bytes")
        }
        guard info.width > 0, info.height > 0 else {
            throw ImagingError.unsupportedJPEG("zero width or height in the frame header (DNL-defined height)")
        }
        if [0xC3, 0xC7, 0xCB, 0xCF].contains(marker) { throw ImagingError.unsupportedJPEG("lossless JPEG") }
        if [0xC5, 0xC6, 0xC7, 0xCD, 0xCE, 0xCF].contains(marker) { throw ImagingError.unsupportedJPEG("hierarchical JPEG") }
        guard info.precision == 8 else {
            throw ImagingError.unsupportedJPEG("\(info.precision)-bit samples (only 8-bit JPEGs are decoded)")
        }
        var factors: [(h: Int, v: Int)] = []
        var ids: [UInt8] = []
        for c in 0..<info.components {
            let hv = b[body + 6 + 3 * c + 1]
            ids.append(b[body + 6 + 3 * c])
            factors.append((Int(hv >> 4), Int(hv & 15)))
        }
        guard factors.allSatisfy({ (1...4).contains($0.h) && (1...4).contains($0.v) }) else {
            throw ImagingError.corrupt("sampling factors outside 1...4 in the frame header")
        }
        info.samplingFactors = factors
        switch info.components {
        case 1:
            info.colorSpace = .gray
            info.subsampling = "gray"
        case 3:
            info.colorSpace = ids == Array("RGB".utf8) ? .rgb : .yCbCr
            let y = factors[0]
            if factors[1] == (1, 1) && factors[2] == (1, 1) {
                switch (y.h, y.v) {
                case (1, 1): info.subsampling = "4:4:4"
                case (2, 2): info.subsampling = "4:2:0"
                case (2, 1): info.subsampling = "4:2:2"
                case (1, 2): info.subsampling = "4:4:0"
                case (4, 1): info.subsampling = "4:1:1"
                default: info.subsampling = "other"
                }
            }
        case 4:
            info.colorSpace = info.colorSpace == .ycck ? .ycck : .cmyk
            info.subsampling = factors.allSatisfy { $0 == factors[0] } ? "4:4:4" : "other"
        default:
            throw ImagingError.unsupportedJPEG("\(info.components) colour components")
        }
        return ids
    }

    /// Counts a scan header (SOS) and, for the first, how many of the frame's components it codes:
    /// libjpeg keeps the whole coefficient image when that is fewer than all of them.
    private static func readScan(_ b: UnsafeBufferPointer<UInt8>, _ body: Int, _ length: Int, _ frameIDs: [UInt8],
                                 _ info: inout JPEGInfo) throws {
        let scan = info.scanCount + 1
        guard length >= 1, (1...4).contains(Int(b[body])), length == 1 + 2 * Int(b[body]) + 3 else {
            throw ImagingError.corrupt("scan \(scan) has a header of \(length) bytes"
                + (length >= 1 ? " for \(b[body]) components" : ""))
        }
        var coded = Set<UInt8>()
        for c in 0..<Int(b[body]) {
            let id = b[body + 1 + 2 * c]
            guard frameIDs.contains(id) else {
                throw ImagingError.corrupt("scan \(scan) codes component \(id), which the frame does not have")
            }
            coded.insert(id)
        }
        if scan == 1 { info.firstScanComponents = coded.count }
        info.scanCount = scan
    }

    /// EXIF IFD0 tag 0x0112 (Orientation), bounds-checked at every step.
    private static func readOrientation(_ b: UnsafeBufferPointer<UInt8>, tiff: Int, end: Int, _ info: inout JPEGInfo) {
        guard tiff + 8 <= end else { return }
        let big: Bool
        switch (b[tiff], b[tiff + 1]) {
        case (0x4D, 0x4D): big = true
        case (0x49, 0x49): big = false
        default: return
        }
        func u16(_ at: Int) -> Int { big ? Int(b[at]) << 8 | Int(b[at + 1]) : Int(b[at + 1]) << 8 | Int(b[at]) }
        func u32(_ at: Int) -> Int { big ? u16(at) << 16 | u16(at + 2) : u16(at + 2) << 16 | u16(at) }
        let ifd = tiff + u32(tiff + 4)
        guard ifd + 2 <= end, ifd > tiff else { return }
        let count = u16(ifd)
        for entry in 0..<count {
            let at = ifd + 2 + 12 * entry
            guard at + 12 <= end else { return }
            if u16(at) == 0x0112 && u16(at + 2) == 3 {
                let value = u16(at + 8)
                info.orientation = (1...8).contains(value) ? value : 1
                info.orientationOffset = at + 8
                info.orientationBigEndian = big
                return
            }
        }
    }

    /// The next marker as libjpeg's marker search finds it (`next_marker` in jdmarker.c): any bytes up to
    /// an 0xFF are skipped, then 0xFF fill bytes; 0xFF 0x00 is no marker (a stuffed byte) and is skipped
    /// with the search going on. libjpeg counts the skipped bytes (fill bytes apart) for its "extraneous
    /// bytes before marker" warning; so does `discarded`. Nil when the data ends first.
    static func nextMarker(_ b: UnsafeBufferPointer<UInt8>, from start: Int)
        -> (marker: UInt8, next: Int, discarded: Int)? {
        var j = start
        var discarded = 0
        let n = b.count
        while let ff = memchrIndex(b, 0xFF, from: j) {
            discarded += ff - j
            var k = ff + 1
            while k < n && b[k] == 0xFF { k += 1 }
            guard k < n else { return nil }
            if b[k] != 0 { return (b[k], k + 1, discarded) }
            discarded += 2
            j = k + 1
        }
        return nil
    }

    private static func memchrIndex(_ b: UnsafeBufferPointer<UInt8>, _ byte: UInt8, from: Int) -> Int? {
        guard from < b.count, let base = b.baseAddress,
              let found = memchr(base + from, Int32(byte), b.count - from) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
}
