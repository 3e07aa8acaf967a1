import Foundation
import Testing
@testable import TesseraImaging
import TesseraSupport

/// Bytes libjpeg skips between segments (issue 17, part 3), with libjpeg itself (`djpeg`) as the
/// referee: what it decodes with only its "extraneous bytes" warning is rendered, pixel for pixel as
/// djpeg decodes it; and no junk hides a frame or a scan from the limits.
struct HostileJunkTests {
    static let ladybird = (try? Fixtures.bytes("photos/ladybird-420.jpg")) ?? []
    static let progressive = (try? Fixtures.bytes("photos/ladybird-progressive.jpg")) ?? []

    /// Each marker of a well-formed JPEG: where it starts and where its segment ends (a scan's with
    /// its compressed data).
    static func markers(_ jpeg: [UInt8]) -> [(marker: UInt8, at: Int, end: Int)] {
        var found: [(UInt8, Int, Int)] = [(0xD8, 0, 2)]
        var i = 2
        while i + 1 < jpeg.count {
            let marker = jpeg[i + 1]
            if marker == 0xD9 { return found + [(marker, i, i + 2)] }
            var end = i + 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
            if marker == 0xDA {
                while !(jpeg[end] == 0xFF && jpeg[end + 1] != 0 && !(0xD0...0xD7).contains(jpeg[end + 1])) { end += 1 }
            }
            found.append((marker, i, end))
            i = end
        }
        fatalError("no end-of-image marker")
    }

    /// The bytes with `junk` put in at each offset (offsets in the original).
    static func inserting(_ jpeg: [UInt8], _ junk: [(at: Int, bytes: [UInt8])]) -> [UInt8] {
        var out = jpeg
        for piece in junk.sorted(by: { $0.at > $1.at }) { out.insert(contentsOf: piece.bytes, at: piece.at) }
        return out
    }

    static func at(_ jpeg: [UInt8], _ marker: UInt8, _ index: Int = 0) -> Int {
        markers(jpeg).filter { $0.marker == marker }[index].at
    }

    // MARK: What libjpeg decodes with only "extraneous bytes" warnings is rendered as libjpeg decodes it

    /// (name, file, what libjpeg says: nil when it says nothing)
    static func oddity(_ name: String) -> (clean: [UInt8], odd: [UInt8], warning: String?) {
        let l = ladybird, p = progressive
        switch name {
        case "bytes after SOI":
            return (l, inserting(l, [(2, [0x00, 0x13, 0x37])]), "3 extraneous bytes before marker 0xe0")
        case "junk after APPn":
            // An APP1 whose writer left bytes past its length, as some cameras' EXIF does.
            return (l, inserting(l, [(at(l, 0xDB), Array("\0\0trailing EXIF bytes".utf8))]), "21 extraneous bytes before marker 0xdb")
        case "stuffed zero and fill in junk":
            // FF 00 is no marker (2 bytes skipped); FF fill before a marker is not counted.
            return (l, inserting(l, [(at(l, 0xDB), [0x41, 0xFF, 0x00, 0x42, 0xFF, 0xFF])]), "4 extraneous bytes before marker 0xdb")
        case "junk before the frame and the scan headers":
            return (l, inserting(l, [(at(l, 0xC0), [0x20]), (at(l, 0xDA), [0x00, 0x00])]), "1 extraneous bytes before marker 0xc0")
        case "a few bytes after the last scan":
            // libjpeg's Huffman decoder has read them ahead with the scan's last bits, and says nothing.
            return (l, inserting(l, [(at(l, 0xD9), [0x00, 0x00, 0x00])]), nil)
        case "fill before every marker":
            let header = markers(l).filter { $0.marker != 0xD8 && $0.marker != 0xD9 }.map { ($0.at, [UInt8](repeating: 0xFF, count: 3)) }
            return (l, inserting(l, header), nil)
        case "junk between scans":
            // Between the tables a scan of a progressive file starts with and its header, scans 2 to 10.
            let all = markers(p)
            let places = all.indices.filter { $0 > 0 && all[$0].marker == 0xDA && all[$0 - 1].marker == 0xC4 }
                .map { all[$0] }.filter { $0.at > at(p, 0xDA) }
            return (p, inserting(p, places.map { ($0.at, [0x00, 0x01, 0x02]) }), "3 extraneous bytes before marker 0xda")
        default:
            // All of them in one file, FF 00 after SOI included.
            return (l, inserting(l, [(2, [0xFF, 0x00, 0x07]), (at(l, 0xFE), [0x01]), (at(l, 0xDB, 1), [0x33, 0xFF, 0x00]),
                                      (at(l, 0xC4, 2), [0xFF, 0xFF]), (at(l, 0xDA), [0x0A, 0x0B])]),
                    "3 extraneous bytes before marker 0xe0")
        }
    }

    static let oddities = ["bytes after SOI", "junk after APPn", "stuffed zero and fill in junk",
                           "junk before the frame and the scan headers", "a few bytes after the last scan", "fill before every marker", "junk between scans",
                           "junk in five places"]

    @Test(arguments: oddities)
    func whatLibjpegDecodesWithWarningsIsRenderedAsLibjpegDecodesIt(_ name: String) throws {
        let (clean, odd, warning) = Self.oddity(name)
        // The referee: djpeg decodes it, warning (exit status 2) exactly so, or not at all.
        let reference = try ImagingReferee.djpeg(odd)
        #expect(reference.status == (warning == nil ? 0 : 2), "\(name): djpeg said \(reference.messages)")
        if let warning { #expect(reference.messages.contains("Corrupt JPEG data: \(warning)"), "\(name): \(reference.messages)") }
        let libjpeg = try #require(reference.pixels)

        // The inspector reads the layout libjpeg reads: the clean file's.
        let info = try JPEGInspector.inspect(odd)
        let cleanInfo = try JPEGInspector.inspect(clean)
        #expect((info.width, info.height, info.components, info.subsampling, info.isProgressive, info.scanCount)
            == (cleanInfo.width, cleanInfo.height, cleanInfo.components, cleanInfo.subsampling, cleanInfo.isProgressive,
                cleanInfo.scanCount), "\(name)")

        // Tessera's decode is libjpeg's, pixel for pixel.
        let decoded = try JPEGDecoder().decode(odd, info: info, targets: [(info.width, info.height)], margin: 1,
                                               limits: ImageLimits())
        #expect(decoded.pixels == libjpeg, "\(name): Tessera's decode differs from djpeg's")
        #expect(decoded.warnings == (warning.map { ["libjpeg: Corrupt JPEG data: \($0)"] } ?? []), "\(name): \(decoded.warnings)")

        // The rendition is the clean file's, byte for byte, with the warning and the inspector's note for the log.
        let renderer = try RenditionRenderer()
        let made = try renderer.render(odd, specs: [RenditionSpec("50%")])[0]
        let fromClean = try renderer.render(clean, specs: [RenditionSpec("50%")])[0]
        #expect(made.jpeg == fromClean.jpeg, "\(name)")
        if let warning {
            #expect(made.notes.contains("libjpeg: Corrupt JPEG data: \(warning)"), "\(name): \(made.notes)")
            #expect(made.notes.contains { $0.contains("between segments skipped, as libjpeg skips them") }, "\(name): \(made.notes)")
        } else {
            #expect(made.notes.isEmpty, "\(name): \(made.notes)")
        }
    }

    // MARK: Bytes left after a scan's data stay refused

    /// Bytes between a scan's compressed data and the next marker, more than libjpeg's decoder reads
    /// ahead: libjpeg words them as it words a damaged scan (its decoder, lost in damaged data, ends the
    /// scan early and skips the rest), so the two cannot be told apart; both stay refused, as a damaged
    /// scan always was.
    @Test(arguments: ["after the last scan", "after a scan, before the next one's tables"])
    func bytesLeftAfterAScansDataAreRefused(_ place: String) throws {
        let odd = place == "after the last scan"
            ? Self.inserting(Self.ladybird, [(Self.at(Self.ladybird, 0xD9), [UInt8](repeating: 0, count: 40))])
            : Self.inserting(Self.progressive, [(Self.at(Self.progressive, 0xC4, 2), [UInt8](repeating: 0x11, count: 40))])
        let marker = place == "after the last scan" ? "0xd9" : "0xc4"
        let reference = try ImagingReferee.djpeg(odd)
        #expect(reference.status == 2 && reference.messages.contains("extraneous bytes before marker \(marker)"), "\(reference.messages)")
        let damaged = try ImagingReferee.djpeg(JPEGSurgery.withDamagedScan(Self.ladybird))
        #expect(damaged.status == 2 && damaged.messages.contains("extraneous bytes before marker 0xd9"),
                "a damaged scan, in libjpeg's words: \(damaged.messages)")
        do {
            _ = try RenditionRenderer().render(odd, specs: [RenditionSpec("50%")])
            Issue.record("\(place): rendered")
        } catch let ImagingError.corrupt(reason) {
            #expect(reason.hasPrefix("libjpeg: Corrupt JPEG data: ") && reason.contains("after a scan's data"), "\(reason)")
        }
    }

    @Test(arguments: [0.5, 0.9, 0.999])
    func aTruncatedFileWithJunkIsStillTruncated(_ fraction: Double) {
        let odd = Self.oddity("junk in five places").odd
        let cut = Array(odd.prefix(Int(Double(odd.count) * fraction)))
        #expect(throws: ImagingError.self) { try JPEGInspector.inspect(cut) }
        do { _ = try JPEGInspector.inspect(cut) } catch let error as ImagingError {
            #expect(error.errorType == "Imaging.Truncated", "\(error)")
        } catch { Issue.record("\(error)") }
    }

    // MARK: Hostile junk: a frame or scans hidden behind it still meet the limits

    /// A 1024x768 progressive frame (4.7 MB of coefficients) behind junk, and behind that a comment
    /// that hides a 64x48 baseline frame from libjpeg. Each junk is one a reader other than libjpeg's
    /// search could take for a segment with a length (FF 00, TEM, a restart marker, FF FF 00), skipping
    /// the large frame and reading the small one.
    @Test(arguments: ["FF 00 and a length", "TEM and a length", "a restart marker and a length", "FF FF 00 and a length",
                      "plain junk"])
    func aFrameBehindJunkIsTheOneTheLimitsSee(_ junk: String) throws {
        let writer = HostileJPEGWriter(width: 1024, height: 768, progressive: true,
                                       scans: [.init(components: [0, 1, 2], ss: 0, se: 0)]
                                           + (0..<3).map { .init(components: [$0], ss: 1, se: 63) })
        let file = writer.bytes()
        let frame = Self.markers(file).first { $0.marker == 0xC2 }!
        let large = Array(file[frame.at..<frame.end])
        var small = large
        small[1] = 0xC0
        small[5...8] = [0, 48, 0, 64]
        let comment: [UInt8] = [0xFF, 0xFE, 0, UInt8(2 + small.count)] + small
        let skip = UInt8(2 + large.count + 4)  // a length over the large frame and the comment's header
        let prefix: [UInt8] = switch junk {
        case "FF 00 and a length": [0xFF, 0x00, 0, skip]
        case "TEM and a length": [0xFF, 0x01, 0, skip]
        case "a restart marker and a length": [0xFF, 0xD3, 0, skip]
        case "FF FF 00 and a length": [0xFF, 0xFF, 0x00, 0, skip]
        default: [0x12, 0x34, 0x56]
        }
        let hostile = Array(file[..<frame.at]) + prefix + large + comment + Array(file[frame.end...])

        // libjpeg decodes the large frame (warning of the junk).
        let reference = try ImagingReferee.djpeg(hostile)
        #expect(reference.status == 2, "\(junk): \(reference.messages)")
        let libjpeg = try #require(reference.pixels)
        #expect((libjpeg.width, libjpeg.height) == (1024, 768))

        // So do the inspector and the limits: over a coefficient limit of 2 MiB it is refused.
        let info = try JPEGInspector.inspect(hostile)
        #expect((info.width, info.height, info.isProgressive, info.scanCount) == (1024, 768, true, 4), "\(junk)")
        #expect(throws: ImagingError.tooMuchMemory(needed: 128 * 96 * 3 * 128, limit: 2 << 20, reason:
            "a progressive 1024x768 4:4:4 JPEG is decoded from its whole coefficient image whatever the output size (maxCoefficientBytes)"
                + "; a function of 128 MB or more takes it")) {
            try JPEGInspector.inspect(hostile, limits: ImageLimits(maxCoefficientBytes: 2 << 20))
        }
        // Under the limits it is rendered from libjpeg's pixels.
        let decoded = try JPEGDecoder().decode(hostile, info: info, targets: [(1024, 768)], margin: 1, limits: ImageLimits())
        #expect(decoded.pixels == libjpeg, "\(junk)")
    }

    /// A second, larger frame header behind junk after the first: libjpeg stops at it ("two SOF
    /// markers"), and so does the inspector, before its size counts for anything.
    @Test func aSecondLargerFrameBehindJunkIsRefused() throws {
        let frame = Self.markers(Self.ladybird).first { $0.marker == 0xC0 }!
        var large = Array(Self.ladybird[frame.at..<frame.end])
        large[5...8] = [0x1B, 0x58, 0x1B, 0x58]  // 7000x7000
        for place in [Self.at(Self.ladybird, 0xC4), Self.at(Self.ladybird, 0xD9)] {
            let hostile = Self.inserting(Self.ladybird, [(place, [0x00, 0xFF, 0x00, 0x41] + large)])
            let reference = try ImagingReferee.djpeg(hostile)
            #expect(reference.status == 1 && reference.messages.contains("two SOF markers"), "\(reference.messages)")
            #expect(throws: ImagingError.corrupt("more than one frame header")) { try JPEGInspector.inspect(hostile) }
        }
    }

    /// Scans behind junk all count: the 2,647-scan progressive file with junk before every scan header
    /// is refused by `maxScans` as the plain one is, and under a higher limit counts every scan.
    @Test func scansBehindJunkAllCount() throws {
        var writer = HostileJPEGWriter.everyBitProgressive(width: 48, height: 32)
        writer.tablesBeforeEachScan = true
        let plain = writer.bytes()
        let all = Self.markers(plain)
        let hostile = Self.inserting(plain, all.indices.filter { $0 > 0 && all[$0].marker == 0xDA && all[$0 - 1].marker == 0xC4 }
            .map { (all[$0].at, [0x00, 0xFF, 0x00]) })
        #expect(hostile.count > plain.count + 3 * 2_600)
        #expect(throws: ImagingError.tooManyScans(limit: 100)) { try JPEGInspector.inspect(hostile) }
        let info = try JPEGInspector.inspect(hostile, limits: ImageLimits(maxScans: 3_000))
        let plainInfo = try JPEGInspector.inspect(plain, limits: ImageLimits(maxScans: 3_000))
        #expect(info.scanCount == 2_647 && plainInfo.scanCount == 2_647)
    }

    /// A reserved marker behind junk, where libjpeg stops ("Unsupported marker type"), is refused by the
    /// inspector too (no length is read after it), and so is a JPGn marker.
    @Test(arguments: [UInt8(0x42), 0xF3])
    func aReservedMarkerBehindJunkIsRefused(_ marker: UInt8) throws {
        let place = Self.at(Self.ladybird, 0xDB)
        let hostile = Self.inserting(Self.ladybird, [(place, [0x01, 0x02, 0xFF, marker, 0x00, 0x04, 0x00, 0x00])])
        let reference = try ImagingReferee.djpeg(hostile)
        #expect(reference.status == 1 && reference.messages.contains("Unsupported marker type 0x\(hexString([marker]))"),
                "\(reference.messages)")
        #expect(throws: ImagingError.corrupt("0xFF 0x\(hexString([marker])) at byte \(place + 2) is not a marker a JPEG may have here")) {
            try JPEGInspector.inspect(hostile)
        }
    }
}
