import Foundation
import Testing
@testable import TesseraImaging
import TesseraSupport

struct JPEGInspectorTests {
    @Test(arguments: [
        ("ladybird-420.jpg", "4:2:0", JPEGInfo.ColorSpace.yCbCr, false),
        ("ladybird-422.jpg", "4:2:2", .yCbCr, false),
        ("ladybird-444.jpg", "4:4:4", .yCbCr, false),
        ("ladybird-gray.jpg", "gray", .gray, false),
        ("ladybird-cmyk.jpg", "4:4:4", .ycck, false),  // ImageMagick writes CMYK as Adobe YCCK
        ("ladybird-progressive.jpg", "4:2:0", .yCbCr, true),
        ("fresh-flower.jpg", "4:2:0", .yCbCr, true),
    ])
    func readsLayoutFromMarkers(_ file: String, _ subsampling: String, _ space: JPEGInfo.ColorSpace, _ progressive: Bool) throws {
        let info = try JPEGInspector.inspect(Fixtures.bytes("photos/\(file)"))
        #expect(info.subsampling == subsampling)
        #expect(info.colorSpace == space)
        #expect(info.isProgressive == progressive)
        #expect(info.orientation == 1)
        if file != "fresh-flower.jpg" { #expect(info.width == 320 && info.height == 200) }
    }

    @Test func orientationIccAndArithmetic() throws {
        let base = try Fixtures.bytes("photos/ladybird-420.jpg")
        for orientation in 1...8 {
            for big in [true, false] {
                let info = try JPEGInspector.inspect(JPEGSurgery.withOrientation(base, orientation, bigEndian: big))
                #expect(info.orientation == orientation)
                #expect(info.orientedSize == (orientation >= 5 ? (200, 320) : (320, 200)))
            }
        }
        let profile = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }  // two chunks
        #expect(try JPEGInspector.inspect(JPEGSurgery.withICC(base, profile)).iccProfile == profile)
        #expect(try JPEGInspector.inspect(Fixtures.bytes("photos/ladybird-arithmetic.jpg")).isArithmetic)
        #expect(try JPEGInspector.inspect(Fixtures.bytes("photos/ladybird-cmyk.jpg")).hasAdobeMarker)
    }

    @Test(arguments: [
        ("PNG", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]),
        ("GIF", Array("GIF89a....".utf8)),
        ("WebP", Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8)),
        ("HEIC", [0, 0, 0, 24] + Array("ftypheic".utf8) + [0, 0, 0, 0]),
        ("TIFF", [0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0]),
        ("empty input", []),
        ("unknown data", [0x13, 0x37, 0xC0, 0xDE, 0x42, 0x99]),
    ] as [(String, [UInt8])])
    func namesNonJPEGInput(_ kind: String, _ bytes: [UInt8]) {
        #expect(throws: ImagingError.self) { try JPEGInspector.inspect(bytes) }
        do { _ = try JPEGInspector.inspect(bytes) } catch let error as ImagingError {
            guard case let .unsupportedFormat(found) = error else { Issue.record("\(error)"); return }
            #expect(found.hasPrefix(kind))
            #expect(error.errorType == "Imaging.UnsupportedFormat")
        } catch { Issue.record("\(error)") }
    }
}

/// Hostile and broken inputs: each gets its typed error, and nothing crashes.
struct HostileInputTests {
    let base: [UInt8] = (try? Fixtures.bytes("photos/ladybird-420.jpg")) ?? []

    func renderError(_ bytes: [UInt8], limits: ImageLimits = ImageLimits()) -> ImagingError? {
        do {
            _ = try RenditionRenderer().render(bytes, specs: [try RenditionSpec("fit:64x64")],
                                               options: RenderOptions(limits: limits))
            return nil
        } catch let error as ImagingError {
            return error
        } catch {
            Issue.record("not an ImagingError: \(error)")
            return nil
        }
    }

    @Test func hugeHeaderIsRefusedBeforeAnyAllocation() {
        let error = renderError(JPEGSurgery.withSize(base, width: 65_535, height: 65_535))
        #expect(error == .tooManyPixels(width: 65_535, height: 65_535, limit: 50_000_000))
        #expect(error?.description.contains("65535x65535") == true)
    }

    @Test func configurablePixelAndByteLimits() {
        #expect(renderError(base, limits: ImageLimits(maxPixels: 10_000)) == .tooManyPixels(width: 320, height: 200, limit: 10_000))
        #expect(renderError(base, limits: ImageLimits(maxInputBytes: 1_000)) == .inputTooLarge(bytes: base.count, limit: 1_000))
    }

    @Test func progressiveCoefficientMemoryIsCheckedFromTheHeader() throws {
        let progressive = try Fixtures.bytes("photos/fresh-flower.jpg")
        // 1600x1203 at 4:2:0: 200x151 luma blocks, rounded up to whole MCUs (2 rows) as libjpeg allocates
        // them, and 100x76 for each chroma component, 128 bytes a block (libjpeg allocates 5,836,800 + 20 KB).
        #expect(try JPEGInspector.inspect(progressive).coefficientBytes == (200 * 152 + 2 * 100 * 76) * 128)
        guard case let .tooMuchMemory(needed, limit, _)? = renderError(progressive, limits: ImageLimits(maxCoefficientBytes: 4 << 20))
        else { Issue.record("expected tooMuchMemory"); return }
        #expect(needed == 5_836_800 && limit == 4 << 20)
        // A 7000x7000 progressive header is under the pixel limit but over the default coefficient limit.
        let huge = JPEGSurgery.withSize(try Fixtures.bytes("photos/ladybird-progressive.jpg"), width: 7_000, height: 7_000)
        #expect(renderError(huge)?.errorType == "Imaging.TooMuchMemory")
        // One-scan baseline files are decoded without the whole coefficient image: no such limit
        // (multi-scan baseline files are: HostileLimitsTests).
        #expect(renderError(base, limits: ImageLimits(maxCoefficientBytes: 1)) == nil)
    }

    @Test(arguments: [0.1, 0.5, 0.9, 0.999])
    func truncatedFiles(_ fraction: Double) {
        let cut = Array(base.prefix(Int(Double(base.count) * fraction)))
        guard case .truncated? = renderError(cut) else {
            Issue.record("expected truncated, got \(String(describing: renderError(cut)))")
            return
        }
    }

    @Test func damagedScanIsACodecError() {
        let error = renderError(JPEGSurgery.withDamagedScan(base))
        #expect(error != nil, "a damaged scan must not pass silently")
        if let error { #expect(["Imaging.CodecError", "Imaging.Corrupt"].contains(error.errorType), "\(error)") }
    }

    /// picture-processor keeps one renderer for every picture of its instance: a picture refused by libjpeg,
    /// in its header or its scan, must not make the next one fail. (A refused header left TurboJPEG's
    /// decompressor mid-header, and every later picture failed as corrupt.)
    @Test func aRendererThatRefusedAPictureRendersTheNextOne() throws {
        var bogusTable = base
        let dht = try #require((2..<bogusTable.count - 1).first { bogusTable[$0] == 0xFF && bogusTable[$0 + 1] == 0xC4 })
        for index in 0..<16 { bogusTable[dht + 5 + index] = 0xFF }  // 255 codes of every length
        let renderer = try RenditionRenderer()
        let specs = [try RenditionSpec("fit:64x64")]
        for (what, bytes) in [("bogus Huffman table", bogusTable), ("damaged scan", JPEGSurgery.withDamagedScan(base))] {
            #expect(throws: ImagingError.self, "\(what)") { try renderer.render(bytes, specs: specs) }
            let next = try renderer.render(base, specs: specs)
            #expect(next.map { "\($0.width)x\($0.height)" } == ["64x40"], "after the \(what)")
        }
        #expect(throws: ImagingError.corrupt("Bogus Huffman table definition")) { try renderer.render(bogusTable, specs: specs) }
    }

    @Test func twelveBitLosslessAndHierarchicalAreUnsupported() {
        #expect(renderError(JPEGSurgery.withPrecision(base, 12)) == .unsupportedJPEG("12-bit samples (only 8-bit JPEGs are decoded)"))
        #expect(renderError(JPEGSurgery.withFrameMarker(base, 0xC3)) == .unsupportedJPEG("lossless JPEG"))
        #expect(renderError(JPEGSurgery.withFrameMarker(base, 0xC5)) == .unsupportedJPEG("hierarchical JPEG"))
        #expect(renderError(JPEGSurgery.withSize(base, width: 320, height: 0))
            == .unsupportedJPEG("zero width or height in the frame header (DNL-defined height)"))
    }

    @Test func garbageAfterSOIAndMissingFrame() {
        #expect(renderError([0xFF, 0xD8, 0xFF, 0xD9]) == .corrupt("end-of-image marker before any image data"))
        #expect(renderError([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]) == .corrupt("segment 0xe0 has length 1"))
        // Bytes where a marker belongs are skipped, as libjpeg's marker search skips them (HostileJunkTests);
        // what follows them must still make a whole JPEG.
        if case .truncated? = renderError([0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0x41, 0x42]) {} else {
            Issue.record("junk, then the end of the data, must be truncated")
        }
        #expect(renderError([0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0x41, 0x42, 0xFF, 0xD9])
            == .corrupt("end-of-image marker before any image data"))
        let random = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        #expect(renderError([0xFF, 0xD8, 0xFF] + random) != nil)
    }
}

struct RenditionSpecTests {
    @Test func parsesAndSizes() throws {
        #expect(try RenditionSpec("50%").targetSize(width: 1601, height: 1201) == (801, 601))
        #expect(try RenditionSpec("fit:256x256").targetSize(width: 1600, height: 1203) == (256, 192))
        #expect(try RenditionSpec("fit:256x256").targetSize(width: 100, height: 50) == (100, 50))
        #expect(try RenditionSpec("fit:256x256:upscale").targetSize(width: 100, height: 50) == (256, 128))
        #expect(try RenditionSpec("width:800").targetSize(width: 1600, height: 1203) == (800, 602))
        #expect(try RenditionSpec("size:640x480").targetSize(width: 1600, height: 1203) == (640, 480))
        #expect(try RenditionSpec("size:640x480").targetSize(width: 320, height: 200) == (267, 200))
        #expect(try RenditionSpec("150%:upscale").targetSize(width: 10, height: 10) == (15, 15))
        #expect(try RenditionSpec("1%").targetSize(width: 10, height: 10) == (1, 1))
    }

    @Test(arguments: ["", "50", "0%", "-5%", "150%", "abc%", "fit:256", "fit:0x10", "fit:10x", "size:axb",
                      "width:-3", "width:70000", "crop:10x10", "fit:256x256:bigger", "2000%:upscale"])
    func refusesMalformedSpecs(_ text: String) {
        #expect(throws: ImagingError.self) { try RenditionSpec(text) }
        do { _ = try RenditionSpec(text) } catch let error as ImagingError {
            #expect(error.description.contains("invalid rendition \"\(text)\""))
        } catch { Issue.record("\(error)") }
    }
}

struct RenditionTests {
    let renderer = try! RenditionRenderer()

    @Test(arguments: ["ladybird-420.jpg", "ladybird-422.jpg", "ladybird-444.jpg", "ladybird-progressive.jpg",
                      "ladybird-arithmetic.jpg", "fresh-flower.jpg"])
    func exactSizesFromOneDecode(_ file: String) throws {
        let bytes = try Fixtures.bytes("photos/\(file)")
        let info = try JPEGInspector.inspect(bytes)
        let specs = try ["50%", "fit:64x64", "width:101", "size:33x47", "fit:1000x1000"].map(RenditionSpec.init)
        let renditions = try renderer.render(bytes, specs: specs)
        for (spec, rendition) in zip(specs, renditions) {
            let expected = spec.targetSize(width: info.width, height: info.height)
            #expect((rendition.width, rendition.height) == expected, "\(file) \(spec)")
            let decoded = try JPEGSurgery.pixels(rendition.jpeg)
            #expect((decoded.width, decoded.height) == expected)
            #expect(decoded.channels == 3)
        }
    }

    @Test func grayStaysGray() throws {
        let rendition = try renderer.render(Fixtures.bytes("photos/ladybird-gray.jpg"), specs: [RenditionSpec("50%")])[0]
        let info = try JPEGInspector.inspect(rendition.jpeg)
        #expect(info.components == 1 && info.colorSpace == .gray)
        #expect((rendition.width, rendition.height) == (160, 100))
    }

    @Test func cmykComesOutAsRGBCloseToTheRGBOriginal() throws {
        let rendition = try renderer.render(Fixtures.bytes("photos/ladybird-cmyk.jpg"), specs: [RenditionSpec("50%")])[0]
        let info = try JPEGInspector.inspect(rendition.jpeg)
        #expect(info.components == 3 && info.colorSpace == .yCbCr)
        #expect(!info.hasICCProfile)
        let reference = try renderer.render(Fixtures.bytes("photos/ladybird-444.jpg"), specs: [RenditionSpec("50%")])[0]
        let psnr = JPEGSurgery.psnr(try JPEGSurgery.pixels(rendition.jpeg), try JPEGSurgery.pixels(reference.jpeg))
        // ImageMagick's CMYK conversion is profile-less; colours land close, not exact.
        #expect(psnr > 24, "CMYK vs RGB rendition PSNR \(psnr)")
    }

    @Test(arguments: 1...8)
    func everyOrientationComesOutUpright(_ orientation: Int) throws {
        // Four coloured quadrants; the stored picture is the upright one turned by the inverse of
        // `orientation`, so applying it must give the upright quadrants back.
        let upright = quadrants(width: 64, height: 48)
        let stored = Orientation.apply(inverse(orientation), to: upright)
        let jpeg = JPEGSurgery.withOrientation(try JPEGEncoder().encode(stored, quality: 95, subsampling: .s444), orientation)
        let rendition = try renderer.render(jpeg, specs: [RenditionSpec("50%")],
                                            options: RenderOptions(subsampling: .s444))[0]
        #expect((rendition.width, rendition.height) == (32, 24))
        let output = try JPEGSurgery.pixels(rendition.jpeg)
        let expected = try JPEGSurgery.pixels(try JPEGEncoder().encode(
            Resampler().resizing(upright, 32, 24), quality: 95, subsampling: .s444))
        #expect(JPEGSurgery.psnr(output, expected) > 30, "orientation \(orientation)")
        #expect(try JPEGInspector.inspect(rendition.jpeg).orientation == 1)
    }

    @Test func metadataDroppedByDefaultKeptUprightOnRequest() throws {
        let profile = Array("not really an ICC profile, but it must travel".utf8)
        let source = JPEGSurgery.withICC(JPEGSurgery.withOrientation(try Fixtures.bytes("photos/ladybird-420.jpg"), 6),
                                         profile)
        let plain = try renderer.render(source, specs: [RenditionSpec("50%")])[0]
        let plainInfo = try JPEGInspector.inspect(plain.jpeg)
        #expect(plainInfo.iccProfile == profile)
        #expect(plainInfo.exifSegment == nil)
        #expect(!plain.jpeg.containsSequence(Array("GPS\0".utf8)))
        #expect((plain.width, plain.height) == (100, 160))

        let kept = try renderer.render(source, specs: [RenditionSpec("50%")], options: RenderOptions(keepMetadata: true))[0]
        let keptInfo = try JPEGInspector.inspect(kept.jpeg)
        #expect(keptInfo.exifSegment != nil && keptInfo.orientation == 1)
        #expect(keptInfo.iccProfile == profile)
        #expect(kept.jpeg.containsSequence(Array("GPS\0".utf8)))
    }

    @Test func resamplerMatchesADoublePrecisionLanczosReference() throws {
        let source = try JPEGSurgery.pixels(try Fixtures.bytes("photos/ladybird-444.jpg"))
        var resampler = Resampler()
        for (w, h) in [(160, 100), (107, 67), (33, 21), (319, 199), (480, 300)] {
            let ours = resampler.resize(source, width: w, height: h)
            let reference = JPEGSurgery.referenceLanczos(source, width: w, height: h)
            #expect(JPEGSurgery.psnr(ours, reference) > 45, "\(w)x\(h)")
        }
    }

    @Test func renditionIsCloseToALanczosResizeOfTheFullDecode() throws {
        // fit:64x64 and 25% go through DCT scaling (shrink-on-load) before the filter.
        let bytes = try Fixtures.bytes("photos/ladybird-444.jpg")
        let full = try JPEGSurgery.pixels(bytes)
        for spec in ["50%", "fit:64x64", "width:111", "25%"] {
            // Near-lossless encoding, so the bound measures shrink-on-load and the filter, not JPEG.
            let rendition = try renderer.render(bytes, specs: [RenditionSpec(spec)],
                                                options: RenderOptions(quality: 98, subsampling: .s444))[0]
            let reference = JPEGSurgery.referenceLanczos(full, width: rendition.width, height: rendition.height)
            let psnr = JPEGSurgery.psnr(try JPEGSurgery.pixels(rendition.jpeg), reference)
            #expect(psnr > 40, "\(spec): PSNR \(psnr)")
        }
    }

    @Test func oddSizesDoNotShift() {
        // A 1-pixel vertical line in the middle of an odd-width image stays centred after 3:1.
        var pixels = [UInt8](repeating: 0, count: 99 * 9)
        for y in 0..<9 { pixels[y * 99 + 49] = 255 }
        var resampler = Resampler()
        let out = resampler.resize(PixelBuffer(width: 99, height: 9, channels: 1, pixels: pixels), width: 33, height: 3)
        let row = Array(out.pixels[33..<66])
        #expect(row[16] == row.max())
        #expect(row[15] == row[17])
    }

    func quadrants(width: Int, height: Int) -> PixelBuffer {
        let colours: [[UInt8]] = [[230, 20, 20], [20, 200, 20], [20, 20, 230], [240, 240, 30]]
        var pixels = [UInt8]()
        for y in 0..<height {
            for x in 0..<width { pixels += colours[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)] }
        }
        return PixelBuffer(width: width, height: height, channels: 3, pixels: pixels)
    }

    func inverse(_ orientation: Int) -> Int { orientation == 6 ? 8 : orientation == 8 ? 6 : orientation }
}

extension Resampler {
    func resizing(_ image: PixelBuffer, _ w: Int, _ h: Int) -> PixelBuffer {
        var copy = self
        return copy.resize(image, width: w, height: h)
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}

/// Seeded random damage to real JPEGs: every result is a rendition or an `ImagingError`, never a crash, and
/// each round's the one recorded.
struct MutationTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// What becomes of each round's mutant (see `outcome`), recorded with Debian 12's libjpeg-turbo 2.1.5: a
    /// renderer that refused everything, rendered everything, or changed with the pictures before (its
    /// state leaking from one picture to the next) changes these.
    static let expected: [String: String] = [
        "ladybird-420.jpg":
            "RKCKKKRKCCKCCKCRKCRKCRKCRKCRKCCKKCKCRKCCKCCKCRKCCKCRKCCKCRKCCKCKCKRKCCKCCKCRKRKKCCKCKKKRKKCKRKKCRKKCKCRKCCKCRKCKKCKCTRKCCKCCKTCKCKKTRKCCCCKKCRKCCCCRKC",
        "ladybird-progressive.jpg":
            "KKKKCKCCKKCKCRCKKRKRKKKRKKKRKCCKKCKKCKCRCCRKCKKCKCRKCCKCKKKKCCCCKKKCKCCCCCKKKKTKCKKKKKCCKKRCKRKKRKCKCKRKKKCKCKCCKRKCCKKKKCKCCCKKKKKKRCTCKKKCCKCKKKCTCC",
        "ladybird-cmyk.jpg":
            "RKTRKRCKTKKCCKCCKCCKRTKCCKRRKCCKCCKCRKCRRTRKCRKKRKRKKKCKCRKCCKCRKCRKKCKCCKCRKCCKCRKCCKKCKKRKCRKCRKCCKCCKCCKRCKCRKKRKCRKCCKCCKCRKCCKCCKCKKCCKRCKCRKKKKC",
        "ladybird-gray.jpg":
            "RKCCKRCKTCKCCKCTKCRKKKKCRKCCKCCKRRKKCKCCRCCKCRKKCKRRKCKKCCKRCKCKKKCKCCKRCKKRKTKKKCKCCKCCKCKKCRKCRKRCKCKKRCKKCKKRKKCKCCCCCKCCKRRKCRKRCKRCKRRKCCKCRKCRKT",
    ]

    /// One letter for what became of a mutant: `R` rendered, else the ImagingError's kind.
    static func outcome(_ render: () throws -> [Rendition]) throws -> Character {
        do {
            let renditions = try render()
            #expect(renditions.count == 2 && renditions.allSatisfy { !$0.jpeg.isEmpty })
            return "R"
        } catch let error as ImagingError {
            switch error {
            case .unsupportedFormat: return "F"
            case .unsupportedJPEG: return "U"
            case .truncated: return "T"
            case .corrupt: return "C"
            case .tooManyPixels: return "P"
            case .inputTooLarge: return "I"
            case .tooMuchMemory: return "M"
            case .tooManyScans: return "S"
            case .outputTooLarge, .outputSideTooLarge: return "O"
            case .invalidSpec: return "V"
            case .codec: return "K"
            }
        }
    }

    /// The outcome of every round as recorded, naming the rounds that differ.
    static func expect(_ outcomes: String, _ expected: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let got = Array(outcomes), want = Array(expected)
        let differing = (0..<max(got.count, want.count)).filter { $0 >= got.count || $0 >= want.count || got[$0] != want[$0] }
            .map { "round \($0): \($0 < want.count ? String(want[$0]) : "-") -> \($0 < got.count ? String(got[$0]) : "-")" }
        #expect(differing.isEmpty, "\(name): \(differing.count) rounds differ: \(differing.prefix(20).joined(separator: ", "))\ngot \(outcomes)",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: ["ladybird-420.jpg", "ladybird-progressive.jpg", "ladybird-cmyk.jpg", "ladybird-gray.jpg"])
    func damagedFilesNeverCrash(_ file: String) throws {
        let original = try Fixtures.bytes("photos/\(file)")
        let renderer = try RenditionRenderer()
        let specs = [try RenditionSpec("fit:64x64"), try RenditionSpec("50%")]
        var random = Generator(state: UInt64(file.utf8.count) &* 7919)
        var outcomes = ""
        for round in 0..<150 {
            var bytes = original
            switch round % 3 {
            case 0:  // flip bytes anywhere, headers included
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[Int.random(in: 2..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 1:  // cut and splice
                let cut = Int.random(in: 2..<bytes.count, using: &random)
                bytes = Array(bytes[..<cut]) + Array(bytes[Int.random(in: cut..<bytes.count, using: &random)...])
            default:  // damage the first 600 bytes, where the markers are
                for _ in 0..<4 {
                    bytes[Int.random(in: 2..<min(600, bytes.count), using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            outcomes.append(try Self.outcome { try renderer.render(bytes, specs: specs) })
        }
        Self.expect(outcomes, Self.expected[file] ?? "", file)
    }
}
