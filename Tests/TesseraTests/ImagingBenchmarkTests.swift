import Foundation
import Testing
import TesseraLocal

/// Benchmarks/render-process as scripts/bench-resize runs it: a photo's default renditions, then its
/// in-process time and peak memory on stdout.
struct ImagingBenchmarkTests {
    @Test func reportsThePeakMemoryItReadsFromProc() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = FunctionProcess.binDirectory.appendingPathComponent("render-process").path
        let child = try ChildProcess([binary, Fixtures.url("photos/ladybird-420.jpg").path, dir.appendingPathComponent("out").path],
                                     environment: [:], logPath: dir.appendingPathComponent("log").path)
        let exit = try #require(child.waitForExit(timeout: 60))
        #expect(exit.status == 0, "\(child.log)")
        // The first line is "<ms> <KiB>"; how each rendition was made follows.
        let fields = (child.log.split(separator: "\n").first ?? "").split(whereSeparator: \.isWhitespace)
        let peak = try #require(fields.last.flatMap { Int($0) }, "\(child.log)")
        // VmHWM: the process's own high-water mark, a few MB for any Swift process (it printed 0), and
        // never above what wait4 reports once it has exited.
        #expect(peak > 1024, "\(child.log)")
        #expect(peak <= exit.peakRSSKiB, "\(child.log); wait4: \(exit.peakRSSKiB) KiB")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out-thumb.jpg").path))
        #expect(child.log.contains("half: YUV planes (4:2:0 to 4:2:0): decoded at"), "\(child.log)")
    }
}
