import Glibc
import TesseraLocal

/// `tessera send`'s progress: on a terminal one line redrawn in place (pieces, bytes, rate and a bar);
/// otherwise (a log, a pipe) a plain line at every tenth of the way.
final class SendProgress {
    let totalPieces: Int
    let totalBytes: Int
    let terminal: Bool
    /// What was acknowledged before this run (a resumed send), left out of the rate.
    private let baselineBytes: Int
    private let start = monotonicNanoseconds()
    private var lastDraw: UInt64 = 0
    private var lastTenth: Int

    init(totalPieces: Int, totalBytes: Int, alreadyPieces: Int = 0, alreadyBytes: Int = 0,
         terminal: Bool = isatty(1) != 0) {
        self.totalPieces = totalPieces
        self.totalBytes = totalBytes
        self.terminal = terminal
        baselineBytes = alreadyBytes
        lastTenth = totalPieces > 0 ? alreadyPieces * 10 / totalPieces : 0
    }

    var elapsedSeconds: Double { Double(monotonicNanoseconds() - start) / 1e9 }

    /// Bytes per second acknowledged in this run.
    func rate(bytes: Int) -> Double {
        let seconds = elapsedSeconds
        return seconds > 0 ? Double(max(0, bytes - baselineBytes)) / seconds : 0
    }

    /// Reports the pieces and bytes acknowledged so far (all of them, earlier runs included).
    func update(pieces: Int, bytes: Int) {
        if terminal {
            let now = monotonicNanoseconds()
            guard now - lastDraw >= 100_000_000 || pieces == totalPieces else { return }
            lastDraw = now
            draw(pieces: pieces, bytes: bytes)
        } else {
            let tenth = totalPieces > 0 ? pieces * 10 / totalPieces : 10
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            say("  \(pieces * 100 / max(totalPieces, 1))%: \(pieces)/\(totalPieces) pieces, "
                + "\(Self.size(bytes)) of \(Self.size(totalBytes)), \(Self.rate(rate(bytes: bytes)))")
        }
    }

    /// Ends the in-place line (on a terminal) so the next output starts on its own line.
    func endLine(pieces: Int, bytes: Int) {
        guard terminal else { return }
        draw(pieces: pieces, bytes: bytes)
        print("")
        fflush(nil)
    }

    private func draw(pieces: Int, bytes: Int) {
        let width = 24
        let filled = totalPieces > 0 ? pieces * width / totalPieces : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let percent = pieces * 100 / max(totalPieces, 1)
        let line = "  [\(bar)] \(percent)%  \(pieces)/\(totalPieces) pieces  \(Self.size(bytes))/\(Self.size(totalBytes))"
            + "  \(Self.rate(rate(bytes: bytes)))"
        print("\r\u{1B}[K" + line, terminator: "")
        fflush(nil)
    }

    /// 812 B, 79.0 KB, 5.40 MB (1 KB = 1000 bytes).
    static func size(_ bytes: Int) -> String {
        let value = Double(bytes)
        if value < 1000 { return "\(bytes) B" }
        if value < 1_000_000 { return fixed(value / 1000, 1) + " KB" }
        return fixed(value / 1_000_000, 2) + " MB"
    }

    /// 812.3 KB/s, 4.12 MB/s.
    static func rate(_ bytesPerSecond: Double) -> String {
        bytesPerSecond < 1_000_000 ? fixed(bytesPerSecond / 1000, 1) + " KB/s" : fixed(bytesPerSecond / 1_000_000, 2) + " MB/s"
    }

    /// A number with `digits` decimals, rounded.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale), fraction = scaled % Int(scale)
        guard digits > 0 else { return String(whole) }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }

    /// 12 ms, 3.40 s.
    static func seconds(_ value: Double) -> String {
        value < 1 ? "\(Int((value * 1000).rounded())) ms" : fixed(value, 2) + " s"
    }
}
