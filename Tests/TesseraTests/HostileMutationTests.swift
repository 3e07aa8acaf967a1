import Foundation
import Testing
@testable import TesseraImaging

/// Seeded random damage to the hostile files (scan headers, ICC chunk numbers, table segments and
/// restart markers are where it lands most): every mutant is a rendition or an `ImagingError`, never
/// a crash, under the limits of a 128 MB function, and each round's outcome the one recorded.
struct HostileMutationTests {
    /// Small versions of the attacks that decode, so mutants get past the limits into libjpeg, and the
    /// attacks themselves, at fewer rounds (they are refused early).
    /// Each with what becomes of every round's mutant (`MutationTests.outcome`), recorded with Debian 12's
    /// libjpeg-turbo 2.1.5; its length is the number of rounds. Re-recorded with the planes pipeline
    /// (issue 17): the ICC floods (16.7 MB) are within a 128 MB function's input limit now (24 MiB, was
    /// 12), so their mutants render or fail in the decoder instead of being refused for their size; one
    /// multi-scan mutant is refused for memory (M) before libjpeg reaches its damage (K).
    static let cases: [(name: String, outcomes: String)] = [
        ("multi-scan",
         "CKRKTCRCUCRCCCRKKKRKCRRCCKRCTMRCCKRCRKKCCCRCKKCKKKRCTCCCKKRTKCRKCKRKKKRKCCRCKRRKTCCKKRRCCCRKCTCCCCRKKKRCCKRKKCKKCCRKCCRKKRRKTKRKTKRKKCRCKKCKRKRKKKCCTK"),
        ("multi-scan restarts",
         "KTKKCCKKTCKRCCKKKKKCKKKCCCKKTCKCKCKCKCKKCKKKKKKKKCKKCCKCKCKCCKKKCCKCRTKKCKKKKCKCKCKKKKKRKKKKCCKCKKKKCKKCCKKKCCKCKTKRCKKKCTKKTCKKCKKKKRKKKKKKKCKKKCKCCC"),
        ("every-bit progressive",
         "TCKKCKKKCKKCCCKCCCKKCCKKCCKKTCKCCCKKKCKKTCKKCCKCKCKCCCKCCCKKTCKKCTKKCCKCCCKRKCKKCCKKCCKCCCKCCCKCCCKKCTKKCTKKCCKKTCKCTCKCCTKKCTKCCCKCTCKCCKKCCCKKTKKCCK"),
        ("icc chunks",
         "CRRKCCRKRCCKRRCKCKRCCRRKRCRCRKCKCKRKRRRKCKCKRKRKCCRKRCRKRCCKCRCKCRRKCRRKCRRKRRCKCRRKRRRKCRCKRRRKCCCKCCRKRCRKRCCKCTRKCRRKTRRKRRRKCKRCRCCKTKRKTRRKCCRKCR"),
        ("icc-flood",
         "RRCCRRCCRRCCRRCCRRCC"),
        ("full-icc",
         "RRCCRRCCRRCCRRCCRRCC"),
        ("multi-scan-7000",
         "CMMMMMMMCMMMCMMMCMMM"),
        ("every-bit-progressive",
         "SSSSSSSSSSSSSSSSSSSS"),
    ]

    static func original(_ name: String) -> [UInt8] {
        switch name {
        case "multi-scan": return HostileJPEGWriter.baseline(width: 160, height: 120, interleaved: false).bytes()
        case "multi-scan restarts":
            var writer = HostileJPEGWriter.baseline(width: 160, height: 120, interleaved: false)
            writer.restartInterval = 5
            writer.tablesBeforeEachScan = true
            return writer.bytes()
        case "every-bit progressive": return HostileJPEGWriter.everyBitProgressive(width: 48, height: 32).bytes()
        case "icc chunks":
            return HostileJPEGs.withICCChunks(HostileJPEGs.ladybird, (1...3).map { ($0, 3, HostileJPEGs.chunkBytes($0, 300)) })
        default: return HostileJPEGs.attack(name)
        }
    }

    @Test(arguments: cases.map(\.name))
    func mutantsNeverCrash(_ name: String) throws {
        let original = Self.original(name)
        let expected = Self.cases.first { $0.name == name }!.outcomes
        let rounds = expected.count
        // The every-bit file is over the scan limit by design; let its mutants reach the decoder.
        var limits = ImageLimits.forMemory(megabytes: 128)
        if name == "every-bit progressive" { limits.maxScans = 3_000 }
        let options = RenderOptions(limits: limits)
        let renderer = try RenditionRenderer()
        let specs = [try RenditionSpec("fit:64x64"), try RenditionSpec("50%")]
        // Where the markers are: damage there changes structure rather than pixels.
        let markers = (2..<(original.count - 1)).filter { original[$0] == 0xFF && original[$0 + 1] != 0 }
        var random = MutationTests.Generator(state: UInt64(name.utf8.count) &* 104_729 &+ UInt64(original.count))
        var outcomes = ""
        for round in 0..<rounds {
            var bytes = original
            switch round % 4 {
            case 0:  // a few bytes just after a marker: lengths, counts, component ids, sequence numbers
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    guard let at = markers.randomElement(using: &random) else { break }
                    let index = min(bytes.count - 1, at + Int.random(in: 1...16, using: &random))
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
            case 1:  // bytes anywhere
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[Int.random(in: 2..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 2:  // a segment repeated or dropped: from one marker to the next
                guard markers.count >= 2 else { break }
                let i = Int.random(in: 0..<(markers.count - 1), using: &random)
                let segment = Array(bytes[markers[i]..<markers[i + 1]])
                bytes.replaceSubrange(markers[i]..<markers[i + 1],
                                      with: Bool.random(using: &random) ? segment + segment : [])
            default:  // cut and splice
                let cut = Int.random(in: 2..<bytes.count, using: &random)
                bytes = Array(bytes[..<cut]) + Array(bytes[Int.random(in: cut..<bytes.count, using: &random)...])
            }
            outcomes.append(try MutationTests.outcome { try renderer.render(bytes, specs: specs, options: options) })
        }
        MutationTests.expect(outcomes, expected, name)
    }
}
