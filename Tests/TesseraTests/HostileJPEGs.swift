import Foundation
@testable import TesseraImaging

/// The attack files, rebuilt in the test from the fixtures and `HostileJPEGWriter` (none is committed:
/// together they are 35 MB; built once a test run).
enum HostileJPEGs {
    static var ladybird: [UInt8] { (try? Fixtures.bytes("photos/ladybird-420.jpg")) ?? [] }
    static var flower: [UInt8] { (try? Fixtures.bytes("photos/fresh-flower.jpg")) ?? [] }

    /// APP2 `ICC_PROFILE` chunks with these numbers (sequence, count) and bytes, right after SOI.
    static func withICCChunks(_ jpeg: [UInt8], _ chunks: [(sequence: Int, count: Int, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        for chunk in chunks {
            let body = Array("ICC_PROFILE".utf8) + [0, UInt8(chunk.sequence), UInt8(chunk.count)] + chunk.bytes
            out += HostileJPEGWriter.segment(0xE2, body)
        }
        return out + jpeg[2...]
    }

    /// Profile bytes that differ from chunk to chunk, so a wrong order shows.
    static func chunkBytes(_ index: Int, _ size: Int = ICCProfile.chunkCapacity) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 101) }
    }

    /// Attack 1: 256 full chunks numbered 0...255 (16.8 MB, under the 64 MiB input limit). Joined
    /// blindly they made a profile of 256 chunks, which trapped the encoder (`UInt8(256)`).
    static let iccFlood = withICCChunks(ladybird, (0..<256).map { ($0, 255, chunkBytes($0)) })

    /// Attack 4: 255 full chunks numbered correctly (16.7 MB), which were carried into every thumbnail.
    static let fullICC = withICCChunks(flower, (1...255).map { ($0, 255, chunkBytes($0)) })

    /// Attack 2: 7000x7000 4:4:4 baseline, one scan a component (`jpegtran -scans` with one
    /// component a line), so libjpeg holds its 294 MB coefficient image for a thumbnail.
    static let multiScan7000 = HostileJPEGWriter.baseline(width: 7000, height: 7000, interleaved: false).bytes()

    /// Attack 3: 6000x6000 4:2:0 progressive of 2,647 scans (220 KB): 8.8 s of CPU before.
    static let everyBitProgressive = HostileJPEGWriter.everyBitProgressive(width: 6000, height: 6000).bytes()

    /// The attacks by name, for the process and mutation runs (each built once, on first use).
    static let names = ["icc-flood", "full-icc", "multi-scan-7000", "every-bit-progressive"]

    static func attack(_ name: String) -> [UInt8] {
        switch name {
        case "icc-flood": iccFlood
        case "full-icc": fullICC
        case "multi-scan-7000": multiScan7000
        default: everyBitProgressive
        }
    }
}
