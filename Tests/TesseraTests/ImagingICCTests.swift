import Foundation
import Testing
@testable import TesseraImaging

/// ICC profiles from APP2 chunks: carried exactly when numbered as the ICC spec says, dropped with a
/// note otherwise (never a failure, never a crash), and never larger than `maxICCBytes`.
struct ImagingICCTests {
    let base = HostileJPEGs.ladybird
    let renderer = try! RenditionRenderer()

    func rendition(_ jpeg: [UInt8], limits: ImageLimits = ImageLimits()) throws -> (Rendition, JPEGInfo) {
        let rendition = try renderer.render(jpeg, specs: [RenditionSpec("fit:64x64")], options: RenderOptions(limits: limits))[0]
        return (rendition, try JPEGInspector.inspect(rendition.jpeg))
    }

    @Test func validChunksAreJoinedByTheirNumbersAndCarriedExactly() throws {
        let parts = [HostileJPEGs.chunkBytes(1), HostileJPEGs.chunkBytes(2), HostileJPEGs.chunkBytes(3, 1_000)]
        let profile = parts.flatMap { $0 }
        // In the file's order, and shuffled: the spec numbers the chunks, libjpeg's reader places them by number.
        for order in [[0, 1, 2], [2, 0, 1]] {
            let jpeg = HostileJPEGs.withICCChunks(base, order.map { ($0 + 1, 3, parts[$0]) })
            let info = try JPEGInspector.inspect(jpeg)
            #expect(info.iccProfile == profile, "order \(order)")
            #expect(info.notes.isEmpty)
            let (output, outputInfo) = try rendition(jpeg)
            #expect(outputInfo.iccProfile == profile)
            #expect(output.notes.isEmpty)
        }
    }

    @Test(arguments: [
        ("missing", [(1, 3), (3, 3)], "chunk 2 of 3 is missing"),
        ("duplicated", [(1, 3), (2, 3), (2, 3), (3, 3)], "chunk 2 of 3 appears twice"),
        ("count mismatch", [(1, 2), (2, 3)], "chunks disagree on their number (2 and 3)"),
        ("numbered from 0", [(0, 2), (1, 2)], "chunk 0 of 2 (chunks are numbered from 1)"),
        ("past the count", [(1, 2), (3, 2)], "chunk 3 of 2 (chunks are numbered from 1)"),
        ("count of 0", [(0, 0)], "the chunks give their number as 0"),
    ])
    func badNumberingDropsTheProfile(_ what: String, _ numbers: [(Int, Int)], _ reason: String) throws {
        let jpeg = HostileJPEGs.withICCChunks(base, numbers.enumerated().map { ($1.0, $1.1, HostileJPEGs.chunkBytes($0, 500)) })
        let info = try JPEGInspector.inspect(jpeg)
        #expect(info.iccProfile == nil, "\(what)")
        #expect(info.notes == ["ICC profile dropped: \(reason)"], "\(what)")
        let (output, outputInfo) = try rendition(jpeg)
        #expect(outputInfo.iccProfile == nil, "\(what): no ICC in the rendition")
        #expect(output.notes == info.notes)
    }

    @Test func oversizedProfileIsDropped() throws {
        let jpeg = JPEGSurgery.withICC(base, HostileJPEGs.chunkBytes(0, 200_000))
        #expect(try JPEGInspector.inspect(jpeg).iccProfile?.count == 200_000)
        let info = try JPEGInspector.inspect(jpeg, limits: ImageLimits(maxICCBytes: 100_000))
        #expect(info.iccProfile == nil)
        #expect(info.notes == ["ICC profile dropped: 200000 bytes, over the limit of 100000 bytes (maxICCBytes)"])
        #expect(try rendition(jpeg, limits: ImageLimits(maxICCBytes: 100_000)).1.iccProfile == nil)
    }

    @Test func iccFloodGivesARenditionWithoutTheProfile() throws {
        // Attack 1: 256 chunks numbered 0...255. It used to trap in the encoder (UInt8(256)).
        let (output, info) = try rendition(HostileJPEGs.iccFlood)
        #expect(info.iccProfile == nil)
        #expect(output.notes == ["ICC profile dropped: chunk 0 of 255 (chunks are numbered from 1)"])
        // Attack 4: 255 chunks numbered right, 16.7 MB, used to be copied into every thumbnail.
        let full = try renderer.render(HostileJPEGs.fullICC, specs: [RenditionSpec("fit:256x256")])[0]
        #expect((full.width, full.height) == (256, 192))
        #expect(full.jpeg.count < 50_000, "\(full.jpeg.count) bytes")
        #expect(full.notes == ["ICC profile dropped: 16707345 bytes, over the limit of 1048576 bytes (maxICCBytes)"])
    }

    @Test(arguments: [0, 1, ICCProfile.chunkCapacity, ICCProfile.chunkCapacity + 1, 255 * ICCProfile.chunkCapacity,
                      255 * ICCProfile.chunkCapacity + 1, 256 * ICCProfile.chunkCapacity])
    func segmentsNeverTrap(_ size: Int) throws {
        let profile = [UInt8](repeating: 7, count: size)
        let segments = ICCProfile.segments(profile)
        let chunks = (size + ICCProfile.chunkCapacity - 1) / ICCProfile.chunkCapacity
        if size == 0 || chunks > 255 {
            #expect(segments.isEmpty, "a profile that cannot be numbered is left out")
        } else {
            #expect(segments.count == size + 18 * chunks)
            let info = try JPEGInspector.inspect([0xFF, 0xD8] + segments + base[2...], limits: ImageLimits(maxICCBytes: size))
            #expect(info.iccProfile == profile)
        }
    }
}
