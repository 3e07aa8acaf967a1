import Foundation
import Testing
@testable import TesseraImaging

/// The attack files through `tessera resize` as a process, measured as Lambda would see it: a typed
/// error, or a rendition under the function's memory (peak RSS from wait4).
@Suite(.serialized) struct HostileProcessTests {
    @Test(arguments: HostileJPEGs.names)
    func attackStaysUnder128MB(_ name: String) throws {
        let bytes = HostileJPEGs.attack(name)
        let result = try ResizeCommandTests.resize(bytes, ["--fit", "256x256", "--memory", "128", "--report-peak-memory"])
        let peak = Self.peakKiB(result)
        // Kept in the test log: the figures behind ImageLimits.forMemory.
        print("tessera resize --memory 128 \(name): exit \(result.status), peak \(peak) KiB, "
            + String(format: "%.2f s", result.seconds) + ": " + result.log.split(separator: "\n").joined(separator: " | "))
        if result.status == 0 {
            #expect(result.output != nil)
        } else {
            #expect(result.status == 1, "\(name): \(result.log)")
            #expect(result.log.contains(": Imaging."), "\(name): a typed error, not \(result.log)")
            #expect(result.output == nil)
        }
        #expect(peak > 0 && peak < 128 << 10, "\(name): \(peak) KiB")
        #expect(result.seconds < 5, "\(name)")
    }

    /// The child's own peak: wait4's maxrss starts from the parent's high-water mark when the child is
    /// spawned from it (the test runner holds hundreds of MB), so the process reports VmHWM itself; the
    /// smaller of the two is the child's.
    static func peakKiB(_ result: (status: Int32, log: String, output: [UInt8]?, peakRSSKiB: Int, seconds: Double)) -> Int {
        let prefix = "peak resident memory "
        let reported = result.log.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: prefix) else { return nil }
            return Int(line[range.upperBound...].split(separator: " ").first ?? "")
        }.first
        return min(reported ?? Int.max, result.peakRSSKiB)
    }

    @Test func iccFloodAsAProcessGivesARenditionAndANote() throws {
        let result = try ResizeCommandTests.resize(HostileJPEGs.iccFlood, ["--fit", "256x256"])
        #expect(result.status == 0, "\(result.log)")
        #expect(result.log.contains("note: ICC profile dropped: chunk 0 of 255"), "\(result.log)")
        let info = try JPEGInspector.inspect(try #require(result.output))
        #expect(info.iccProfile == nil && (info.width, info.height) == (256, 160))
        // Its 16.7 MB are within a 128 MB function's input limit since the planes pipeline (24 MiB, was 12).
        let small = try ResizeCommandTests.resize(HostileJPEGs.iccFlood, ["--fit", "256x256", "--memory", "128",
                                                                         "--report-peak-memory"])
        #expect(small.status == 0 && small.log.contains("note: ICC profile dropped: chunk 0 of 255"), "\(small.log)")
        #expect(Self.peakKiB(small) < 120 << 10, "\(small.log)")
    }

    @Test func aFunctionOf1024MBTakesTheMultiScan7000() throws {
        let result = try ResizeCommandTests.resize(HostileJPEGs.multiScan7000,
                                                   ["--fit", "256x256", "--memory", "1024", "--report-peak-memory"])
        let peak = Self.peakKiB(result)
        print("tessera resize --memory 1024 multi-scan-7000: exit \(result.status), peak \(peak) KiB")
        #expect(result.status == 0, "\(result.log)")
        #expect(peak > 294_000_000 / 1024, "libjpeg holds the coefficient image")
        #expect(peak < 1024 << 10)
    }
}
