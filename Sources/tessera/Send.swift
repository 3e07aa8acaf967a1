import ArgumentParser
import Glibc
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraSupport
import TesseraLocal

/// `tessera send`: what a device does, cut a photo into IoT piece messages; delivered here to the
/// piece-storage binary through the local Runtime API, as the IoT rule would invoke it.
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a photo as IoT piece messages to piece-storage running locally.")

    @Argument(help: "The JPEG to send.")
    var photo: String

    @Option(help: "The device's id (machine_id).")
    var machineId = "cam-1"

    @Option(help: "The picture's name (label); default: the file name without extension.")
    var label: String?

    @Option(help: "Bytes per piece (IoT Core messages stop at 128 KB of base64).")
    var pieceBytes = 8192

    @Option(help: "The piece-storage binary; default: the one built beside this tool.")
    var function: String?

    @Flag(help: "Deliver the pieces in random order, the second one twice (IoT rules deliver at least once).")
    var shuffle = false

    func run() throws {
        guard let bytes = readFile(photo) else { throw ValidationError("cannot read \(photo)") }
        let fileName = photo.split(separator: "/").last.map(String.init) ?? photo
        let name = label ?? String(fileName.prefix { $0 != "." })
        var messages = IoTPieceMessage.split(bytes, machineId: machineId, label: name, pieceBytes: pieceBytes)
        let pieceCount = messages.count - 1
        if shuffle, messages.count > 2 {
            let end = messages.removeLast()
            messages.shuffle()
            messages.insert(messages[0], at: messages.count / 2)
            messages.append(end)
        }
        let binary = function ?? siblingExecutable("piece-storage")
        let api = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:piece-storage")
        defer { api.stop() }
        var environment = Environment.process().values
        environment["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
        let child = try ChildProcess([binary], environment: environment)
        defer { child.terminate() }

        say("sending \(photo) (\(bytes.count) bytes) as \(machineId)/\(name) in \(pieceCount) pieces")
        var failures = 0
        for message in messages {
            let what: String
            switch message {
            case let .piece(_, _, index, data): what = "piece \(index) (\(data.count) bytes)"
            case let .end(_, _, total, _, _): what = "END (\(total) pieces)"
            }
            switch api.invoke(Array(message.json.utf8), timeout: 30) {
            case let .response(body)?:
                say("  \(what): \(String(decoding: body, as: UTF8.self))")
            case let .error(type, message, _)?:
                failures += 1
                say("  \(what): ERROR \(type): \(message)")
            case nil:
                throw ValidationError("piece-storage did not answer within 30 s; is it running? \(child.log)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// Prints a line at once, so it interleaves in order with the function's own log lines.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// An executable built into the same folder as this one.
func siblingExecutable(_ name: String) -> String {
    var path = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &path, path.count - 1)
    let me = length > 0 ? String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        : CommandLine.arguments[0]
    let directory = me.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    return directory + "/" + name
}
