import Foundation
import Testing
@testable import TesseraImaging

/// The eight EXIF orientations pinned by other programs, not by `Orientation.apply` undoing itself
/// (issue 17, part 4): each oriented file is a real photo turned by jpegtran's lossless transforms
/// and tagged by exiftool, so that shown with its orientation it is the original; Tessera's rendition
/// must be the original as djpeg decodes it.
struct ImagingOrientationTests {
    /// For each orientation, the jpegtran transform that makes the stored picture from the upright
    /// one, from the meaning of tag 0x0112 in TIFF 6.0 / EXIF 2.32 (where the stored 0th row and 0th
    /// column are shown): 1 top, left; 2 top, right (mirrored left to right); 3 bottom, right (turned
    /// 180°); 4 bottom, left (mirrored top to bottom); 5 left, top (transposed); 6 right, top (shown
    /// turned 90° clockwise, so stored turned 90° counter-clockwise: jpegtran's -rotate 270); 7 right,
    /// bottom (transversed); 8 left, bottom (shown turned 90° counter-clockwise: stored -rotate 90).
    static let storedBy: [Int: [String]] = [
        1: [], 2: ["-flip", "horizontal"], 3: ["-rotate", "180"], 4: ["-flip", "vertical"],
        5: ["-transpose"], 6: ["-rotate", "270"], 7: ["-transverse"], 8: ["-rotate", "90"],
    ]

    /// `Orientation.apply` walks a displayed row as a stored row or column, forwards or backwards; pixel
    /// by pixel, the displayed (x, y) is the stored pixel the tag names (the mapping the tests below
    /// hold to djpeg), for one and three channels, a content narrower than the rows it sits in, and a
    /// padded output (the last column and row repeated).
    @Test(arguments: [1, 3], 1...8)
    func everyPixelLandsWhereTheTagSays(_ channels: Int, _ orientation: Int) {
        let (stride, rows, w, h) = (7, 5, 6, 4)
        let image = PixelBuffer(width: stride, height: rows, channels: channels,
                                pixels: (0..<(stride * rows * channels)).map { UInt8($0 % 251) })
        let outW = orientation >= 5 ? h : w, outH = orientation >= 5 ? w : h
        let out = Orientation.apply(orientation, to: image, content: (w, h), padded: (outW + 2, outH + 1))
        #expect((out.width, out.height) == (outW + 2, outH + 1))
        for oy in 0..<(outH + 1) {
            for ox in 0..<(outW + 2) {
                let (x, y) = (min(ox, outW - 1), min(oy, outH - 1))
                let (sx, sy) = switch orientation {
                case 2: (w - 1 - x, y)
                case 3: (w - 1 - x, h - 1 - y)
                case 4: (x, h - 1 - y)
                case 5: (y, x)
                case 6: (y, h - 1 - x)
                case 7: (w - 1 - y, h - 1 - x)
                case 8: (w - 1 - y, x)
                default: (x, y)
                }
                for k in 0..<channels {
                    #expect(out.pixels[(oy * out.width + ox) * channels + k] == image.pixels[(sy * stride + sx) * channels + k],
                            "o\(orientation) (\(ox), \(oy)) channel \(k)")
                }
            }
        }
    }

    /// `ladybird-444.jpg` is 320x200 in 8x8 MCUs, so every transform is perfect (`-perfect` fails the
    /// run otherwise). `ladybird-420.jpg` has 16x16 MCUs, 20 columns and 12.5 rows of them: `-trim`
    /// drops the last, partial row wherever a transform moves the bottom edge off the bottom or right
    /// (3, 4, 7, 8), and the oriented file then shows the original less its bottom 8 rows (320x192):
    /// the reference is cropped so.
    @Test(arguments: ["ladybird-444.jpg", "ladybird-420.jpg"], 1...8)
    func anOrientedPhotoIsRenderedAsTheOriginalDecodedByDjpeg(_ file: String, _ orientation: Int) throws {
        let folder = try ImagingReferee.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = folder.appendingPathComponent("original.jpg"), oriented = folder.appendingPathComponent("oriented.jpg")
        let upright = try Fixtures.bytes("photos/\(file)")
        try Data(upright).write(to: original)
        let fit = file == "ladybird-444.jpg" ? "-perfect" : "-trim"
        let transform = try ImagingReferee.run("jpegtran", [fit, "-copy", "none"] + Self.storedBy[orientation]!
            + ["-outfile", oriented.path, original.path])
        #expect(transform.status == 0, "jpegtran: \(transform.stderr)")
        let tag = try ImagingReferee.run("exiftool", ["-q", "-n", "-Orientation=\(orientation)", "-overwrite_original", oriented.path])
        #expect(tag.status == 0, "exiftool: \(tag.stderr)")
        let jpeg = [UInt8](try Data(contentsOf: oriented))
        #expect(try JPEGInspector.inspect(jpeg).orientation == orientation, "exiftool's tag, as the inspector reads it")

        // Near-lossless output (quality 100, 4:4:4) at the size shown, so what differs is the orientation.
        let rendition = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("100%")],
                                                        options: RenderOptions(quality: 100, subsampling: .s444))[0]
        let made = try JPEGSurgery.pixels(rendition.jpeg)
        let reference = try #require(try ImagingReferee.djpeg(upright).pixels)
        #expect(made.height <= reference.height && made.width == reference.width, "\(file) \(orientation): \(made.width)x\(made.height)")
        #expect(made.height == (fit == "-trim" && [3, 4, 7, 8].contains(orientation) ? reference.height - 8 : reference.height))
        let shown = Self.topLeft(reference, width: made.width, height: made.height)
        let psnr = JPEGSurgery.psnr(made, shown)
        // The transforms are lossless in the DCT domain, so only the IDCT's rounding on turned blocks
        // (and, at 4:2:0, the upsampling's) and the quality-100 encode differ: measured 52-56 dB. With
        // 6 and 8, 5 and 7, or 2 and 4 swapped in `Orientation`, those cases measure 10 dB.
        #expect(psnr > 40, "\(file) orientation \(orientation): PSNR \(psnr) dB against djpeg's decode of the original")
        #expect(rendition.made.hasPrefix("YUV planes"), "\(rendition.made)")

        // The default rendition's path: a DCT-scaled decode resampled plane by plane at 4:2:0, turned
        // upright plane by plane (odd chroma sizes at 50%: 80x50 or 80x48 chroma samples), against
        // djpeg's original resized. Measured 39-44 dB; with the orientations swapped, 11-14.
        let half = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("50%")],
                                                  options: RenderOptions(quality: 100))[0]
        #expect(half.made.hasPrefix("YUV planes (\(file == "ladybird-444.jpg" ? "4:4:4" : "4:2:0") to 4:2:0)"), "\(half.made)")
        let halfPixels = try JPEGSurgery.pixels(half.jpeg)
        var resampler = Resampler()
        let expected = resampler.resize(shown, width: halfPixels.width, height: halfPixels.height)
        let halfPSNR = JPEGSurgery.psnr(halfPixels, expected)
        #expect(halfPSNR > 34, "\(file) orientation \(orientation) at 50%: PSNR \(halfPSNR) dB against djpeg's decode resized")

        // A small rendition beside a large one at every output layout: chained from the large one's planes
        // (or, turned at 4:2:2, whose stored chroma is laid out as 4:4:0, decoded on its own), never read
        // along the wrong axes (that trapped in the resampler).
        for subsampling in ChromaSubsampling.allCases {
            let pair = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("100%"), RenditionSpec("fit:64x64")],
                                                      options: RenderOptions(quality: 100, subsampling: subsampling))
            let small = try JPEGSurgery.pixels(pair[1].jpeg)
            let smallPSNR = JPEGSurgery.psnr(small, resampler.resize(shown, width: small.width, height: small.height))
            #expect(smallPSNR > 30, "\(file) orientation \(orientation) \(subsampling.rawValue): \(smallPSNR) dB; \(pair[1].made)")
        }
    }

    static func topLeft(_ image: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        var pixels: [UInt8] = []
        for y in 0..<height {
            let row = y * image.width * image.channels
            pixels += image.pixels[row..<(row + width * image.channels)]
        }
        return PixelBuffer(width: width, height: height, channels: image.channels, pixels: pixels)
    }
}
